/**
 * Structured JSON logs (pino). Every line about a fix carries its correlation ids (workflowId,
 * bugId, and for activities runId, activityType and attempt), whether it comes from the API, an
 * activity or the Temporal SDK itself, so one grep follows a fix across processes.
 */
import { Context } from '@temporalio/activity';
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import pino, { type DestinationStream, type Logger as Pino } from 'pino';

export function createLog(destination?: DestinationStream): Pino {
  const level = process.env.LOG_LEVEL ?? 'info';
  return destination ? pino({ level, base: { service: 'bugfix' } }, destination) : pino({ level, base: { service: 'bugfix' } });
}

export const rootLog: Pino = createLog();

/** Inside an activity: the logger with that activity's correlation ids; outside: the root logger. */
export function activityLog(extra: Record<string, unknown> = {}): Pino {
  try {
    const info = Context.current().info;
    return rootLog.child({
      workflowId: info.workflowExecution?.workflowId,
      runId: info.workflowExecution?.runId,
      activityType: info.activityType,
      attempt: info.attempt,
      ...extra,
    });
  } catch {
    return rootLog.child(extra);
  }
}

const SEVERITY: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };
const PINO_METHOD = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * The Temporal SDK's logger, writing through pino. The SDK attaches workflowId, runId and the
 * activity or task queue to its own lines. Messages that say nothing useful are dropped.
 */
export class PinoTemporalLogger implements Logger {
  constructor(
    private readonly out: Pino,
    private readonly minLevel: LogLevel = 'WARN',
    private readonly ignore: string[] = [],
  ) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (SEVERITY[level] < SEVERITY[this.minLevel]) return;
    if (this.ignore.some((prefix) => message.startsWith(prefix))) return;
    const { error, ...rest } = (meta ?? {}) as LogMetadata & { error?: unknown };
    this.out[PINO_METHOD[level]]({ ...rest, ...(error !== undefined ? { err: error } : {}), source: 'temporal-sdk' }, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
