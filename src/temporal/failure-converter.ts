/**
 * Failure messages and stack traces go into Temporal history too: git's stderr, an install step's
 * output, an operator's kill reason. Encoded as a payload, they pass through the same AES-GCM codec
 * as every other payload (the Web UI and CLI decode them through /codec). Loaded by path, so the
 * workflow bundle, the worker's activities and every client use the same converter.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
