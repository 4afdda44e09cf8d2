/**
 * Saved histories of real fixes (test/histories, recorded by scripts/record-histories.ts; and
 * sandbox-lost-four-times, a fix of the stand-ins in bug-fix-workflow.test.ts failed by its fourth
 * lost sandbox under the code before patch SANDBOX_LOSSES_IN_A_ROW, which no script can re-record) must
 * replay against the current workflow code: a change that is not deterministic for runs already
 * in flight fails here, not in production.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';

// A CommonJS module: its namespace comes through the default export.
const { temporal } = proto;
import { describe, expect, test } from 'vitest';
import { WORKFLOWS_PATH } from '../../src/worker.js';
import { AesGcmCodec } from '../../src/temporal/payload-codec.js';
import { parseKeys } from '../../src/temporal/payload-keys.js';
import { RECORDING_KEYS } from '../../scripts/record-histories-key.js';

/** The histories were recorded with this fixed test key (scripts/record-histories.ts). */
const RECORDING_CODEC = new AesGcmCodec(parseKeys(RECORDING_KEYS));
const DIR = path.join(import.meta.dirname, '..', 'histories');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.history.pb'));

describe('replay of saved fix histories', () => {
  test('there are histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  test.each(files)('%s replays without non-determinism', async (file) => {
    const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, file)));
    await expect(
      Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH, dataConverter: { payloadCodecs: [RECORDING_CODEC] } }, history, file),
    ).resolves.toBeUndefined();
  });
});
