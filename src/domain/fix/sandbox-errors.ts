/** Failure type of sandbox work whose container (or host) is gone; the workflow provisions again. */
export const SANDBOX_GONE = 'SandboxGone';
