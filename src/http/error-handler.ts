import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
    /** e.g. Retry-After on 429 */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** The one error middleware: a status and a reason for every failure, nothing leaked. */
export function errorHandler(log: { error: (obj: unknown, msg: string) => void }): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof ZodError) {
      res.status(400).json({ error: 'invalid request', problems: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
      return;
    }
    if (err instanceof HttpError) {
      for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
      res.status(err.status).json({ error: err.message, ...(err.details ? { details: err.details } : {}) });
      return;
    }
    const e = err as { type?: string; status?: number; statusCode?: number; expose?: boolean; message?: string };
    if (e.type === 'entity.too.large') return void res.status(413).json({ error: 'request body too large' });
    if (e.type === 'entity.parse.failed') return void res.status(400).json({ error: 'request body is not valid JSON' });
    // The request's own fault, said so by body-parser (http-errors): an unsupported charset or
    // encoding (415), too many parameters (413), an aborted upload (400)… Its message is meant
    // for the client (expose), so it is answered as is rather than as a 500.
    const status = e.status ?? e.statusCode;
    if (e.expose === true && typeof status === 'number' && status >= 400 && status < 500) {
      return void res.status(status).json({ error: e.message || 'bad request' });
    }
    log.error({ err }, 'unhandled error');
    res.status(500).json({ error: 'internal error' });
  };
}
