/**
 * The local base image every image here is built FROM (the sandbox, the service): Debian made by
 * debootstrap and `docker import`ed (scripts/sandbox-image.ts), tagged by the hash of its package
 * list, so a build never pulls from a registry.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';

export const DOCKER_DIR = path.join(PROJECT_ROOT, 'docker');
export const SUITE = process.env.SANDBOX_DEBIAN_SUITE ?? 'bookworm';
/** Files of docker/ that belong to the service image (scripts/service-image.ts), not the sandbox's. */
export const isServiceImageFile = (f: string) => f.startsWith('service');

export const sha = (data: string) => createHash('sha256').update(data).digest('hex').slice(0, 16);

export function basePackages(): string[] {
  return fs
    .readFileSync(path.join(DOCKER_DIR, 'base-packages.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

export const baseTag = `bugfix-sandbox-base:${sha(`${SUITE}\n${basePackages().join('\n')}`)}`;
