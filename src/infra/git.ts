/**
 * Host-side git, argv only. The token reaches git through a credential helper that reads it from
 * the environment: never in a URL, an argument list or a log line, never inside a sandbox.
 * A project's cloneUrl is free text from the admin API, so host git does not trust it: the helper
 * answers for the GitHub origin only, and git may use only the transports GIT_ALLOW_PROTOCOL names
 * (no ssh with the worker's keys, no file paths copying the host's repositories).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { githubWebUrl, loadConfig, type AppConfig } from '../config.js';

const run = promisify(execFile);

export class GitError extends Error {
  override name = 'GitError';
}

export interface GitOptions {
  cwd?: string;
  token?: string;
  input?: Buffer;
  /**
   * This command reads files the worker itself wrote (a delivery bundle, its own mirror), which git
   * counts as the 'file' transport: allowed for this command even when GIT_ALLOW_PROTOCOL does not list it.
   */
  fromOwnFiles?: boolean;
}

export interface HostGitPolicy {
  /** git's GIT_ALLOW_PROTOCOL: the colon-separated transports host git may use */
  allowProtocol: string;
  /** the only origin the credential helper answers for: GitHub's web (clone) origin */
  credentialUrl: string;
}

export function hostGitPolicy(config: Pick<AppConfig, 'GIT_ALLOW_PROTOCOL' | 'GITHUB_API_URL'>): HostGitPolicy {
  return { allowProtocol: config.GIT_ALLOW_PROTOCOL, credentialUrl: githubWebUrl(config.GITHUB_API_URL) };
}

/**
 * What host git inherits from the worker's environment: what it needs to run, reach a remote
 * (proxies, CA bundles) and read its own configuration. Not the database URL, the model's key or
 * any other secret of the worker: a hook, a filter or a credential helper git runs would see them.
 */
const INHERITED_ENV =
  /^(?:PATH|HOME|USER|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|SSL_CERT_FILE|SSL_CERT_DIR|(?:HTTPS?|NO|ALL)_PROXY|(?:https?|no|all)_proxy|GIT_(?:EXEC_PATH|CONFIG_NOSYSTEM|CONFIG_GLOBAL|CONFIG_SYSTEM|SSL_CAINFO|SSL_CAPATH|TRACE\w*|CURL_VERBOSE))$/;

export function hostGitEnv(policy: HostGitPolicy, token?: string): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => INHERITED_ENV.test(name)));
  const env: NodeJS.ProcessEnv = { ...inherited, GIT_TERMINAL_PROMPT: '0', GIT_ALLOW_PROTOCOL: policy.allowProtocol };
  if (token) {
    Object.assign(env, {
      BUGFIX_GIT_TOKEN: token,
      GIT_CONFIG_COUNT: '1',
      // URL-scoped (credential.<url>.helper): git asks it only for that scheme and host, so a
      // cloneUrl naming another server gets a 401 from git, not the token.
      GIT_CONFIG_KEY_0: `credential.${policy.credentialUrl}.helper`,
      GIT_CONFIG_VALUE_0: '!f() { echo username=x-access-token; echo "password=$BUGFIX_GIT_TOKEN"; }; f',
    });
  }
  return env;
}

let policyMemo: { env: string; policy: HostGitPolicy } | undefined;
/**
 * The policy of this process's configuration, parsed once per value of the two variables it reads
 * (a stack in this process may set GIT_ALLOW_PROTOCOL when it starts; tests change them).
 */
export function configuredGitPolicy(): HostGitPolicy {
  const env = `${process.env.GIT_ALLOW_PROTOCOL ?? ''}\n${process.env.GITHUB_API_URL ?? ''}`;
  if (policyMemo?.env !== env) policyMemo = { env, policy: hostGitPolicy(loadConfig()) };
  return policyMemo.policy;
}

export async function git(args: string[], opts: GitOptions = {}): Promise<string> {
  const configured = configuredGitPolicy();
  const policy = opts.fromOwnFiles ? { ...configured, allowProtocol: `${configured.allowProtocol}:file` } : configured;
  try {
    const running = run('git', args, { cwd: opts.cwd, env: hostGitEnv(policy, opts.token), maxBuffer: 64 * 1024 * 1024 });
    if (opts.input) running.child.stdin?.end(opts.input);
    const { stdout } = await running;
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new GitError(`git ${args[0]} failed: ${(e.stderr ?? e.message).trim().slice(0, 2000)}`);
  }
}

/**
 * The transport git would use for a remote, as git's transport.c decides, and what it checks
 * against GIT_ALLOW_PROTOCOL: `<helper>::<address>`, then `<scheme>://`, then a path ('file')
 * unless a colon comes before any slash (scp-like `user@host:path`, 'ssh').
 */
function remoteTransport(url: string): string {
  const helper = /^([A-Za-z][A-Za-z0-9+.-]*)::/.exec(url);
  if (helper) return helper[1]!;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1];
  if (scheme) return scheme === 'git+ssh' || scheme === 'ssh+git' ? 'ssh' : scheme;
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  return colon === -1 || (slash !== -1 && slash < colon) ? 'file' : 'ssh';
}

/** Why host git must not be given this clone URL, or null when it may. */
export function cloneUrlProblem(url: string, allowProtocol: string): string | null {
  const transport = remoteTransport(url);
  if (!allowProtocol.split(':').includes(transport)) {
    return `transport '${transport}' is not allowed for clone URLs (GIT_ALLOW_PROTOCOL=${allowProtocol})`;
  }
  if (url.includes('://') && !URL.canParse(url)) return 'not a valid URL';
  return null;
}

/** What git says when a remote refuses for good: a retry would get the same answer. */
const PERMANENT_GIT_REFUSALS: Array<[RegExp, string]> = [
  [
    /repository '[^']*' not found|Repository not found|does not appear to be a git repository/i,
    'the repository does not exist or the credential cannot see it',
  ],
  [/Authentication failed|could not read Username|terminal prompts disabled|returned error: 401/i, 'the remote refused the credential'],
  [/returned error: 403|Permission to \S+ denied|denied to /i, 'the credential lacks permission to push to this repository'],
  [/returned error: 404/i, 'the repository does not exist or the credential cannot see it'],
  [/\[rejected\]|non-fast-forward|\(fetch first\)/i, 'the fix branch exists on the remote with other commits; it is not overwritten'],
  [/transport '[^']*' not allowed/i, "the project's clone URL names a transport host git may not use"],
];

/** A readable reason when a git failure cannot heal by retrying, else null. */
export function permanentGitRefusal(err: unknown): string | null {
  if (!(err instanceof GitError)) return null;
  const hit = PERMANENT_GIT_REFUSALS.find(([re]) => re.test(err.message));
  return hit ? `${hit[1]} (${err.message.split('\n')[0]!.slice(0, 300)})` : null;
}
