/**
 * The service runs on a supported Node LTS (package.json engines; scripts/bootstrap.sh pins one
 * when the machine's is older) and installs from a lock file that `npm ci` accepts as it is, so a
 * fresh clone stays clean and reproducible.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.js';

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
};

/** Majors named by the engines range, e.g. "^22.12.0 || ^24.0.0" → [22, 24]. */
const supportedMajors = (range: string) => [...range.matchAll(/\^(\d+)\./g)].map((m) => Number(m[1]));

describe('Node and the lock file', () => {
  it('declares only LTS lines that are still supported and runs on one of them', () => {
    const majors = supportedMajors(pkg.engines.node);
    expect(majors.length).toBeGreaterThan(0);
    // Node 20 reached end of life in April 2026; even majors from 22 on are LTS lines.
    for (const m of majors) expect(m >= 22 && m % 2 === 0).toBe(true);
    expect(majors).toContain(Number(process.versions.node.split('.')[0]));
  });

  it('`npm ci` accepts the committed lock file without changing it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-'));
    for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(PROJECT_ROOT, f), path.join(dir, f));
    // --dry-run still checks that package.json and the lock file agree (the failure this guards).
    execFileSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'pipe' });
    expect(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8')).toBe(fs.readFileSync(path.join(PROJECT_ROOT, 'package-lock.json'), 'utf8'));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
