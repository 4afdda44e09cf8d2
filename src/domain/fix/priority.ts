/**
 * Report priority → Temporal priority key (lower runs first; the server's default range is 1..5
 * with 3 for tasks that set none). Activities inherit their workflow's priority, so a CRITICAL
 * fix keeps its place in line at every step, not only at its start.
 */
export type ReportPriority = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW';

export const PRIORITY_KEYS: Readonly<Record<ReportPriority, number>> = { CRITICAL: 1, HIGH: 2, MEDIUM: 3, LOW: 4 };
