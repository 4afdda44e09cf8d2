/**
 * Host-side git, argv only. The token reaches git through a credential helper that reads it from
 * the environment: never in a URL, an argument list or a log line, never inside a sandbox.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class GitError extends Error {
  override name = 'GitError';
}

export interface GitOptions {
  cwd?: string;
  token?: string;
  input?: Buffer;
}

function gitEnv(token?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
  if (token) {
    Object.assign(env, {
      BUGFIX_GIT_TOKEN: token,
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'credential.helper',
      GIT_CONFIG_VALUE_0: '!f() { echo username=x-access-token; echo "password=$BUGFIX_GIT_TOKEN"; }; f',
    });
  }
  return env;
}

export async function git(args: string[], opts: GitOptions = {}): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd: opts.cwd, env: gitEnv(opts.token), maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new GitError(`git ${args[0]} failed: ${(e.stderr ?? e.message).trim().slice(0, 2000)}`);
  }
}
