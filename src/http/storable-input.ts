/**
 * Refuses request input PostgreSQL cannot store (NUL, unpaired surrogates: see src/db/jsonb.ts)
 * with a 400 naming the field, the same answer as any other invalid field: in the path, the query
 * string or the parsed body of any route. Without it such text reached a query and came back as a
 * 500. Runs after the body parsers (a route that parses its own body calls it again after).
 */
import type { RequestHandler } from 'express';
import { ZodError } from 'zod';
import { unstorablePath } from '../db/jsonb.js';

const MESSAGE = 'must not contain NUL (U+0000) or unpaired UTF-16 surrogates: they cannot be stored';

function refuse(path: Array<string | number>): never {
  throw new ZodError([{ code: 'custom', path, message: MESSAGE, input: undefined }]);
}

function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path; // not percent-encoding: the route decides (and the string is storable as it is)
  }
}

export const refuseUnstorableInput: RequestHandler = (req, _res, next) => {
  if (unstorablePath(decodedPath(req.path))) refuse(['(path)']);
  const inQuery = unstorablePath(req.query);
  if (inQuery) refuse(['(query)', ...inQuery]);
  const inBody = unstorablePath(req.body);
  if (inBody) refuse(inBody.length > 0 ? inBody : ['(body)']);
  next();
};
