/**
 * Scope limits of the agent: which repository paths it may write, how big a file may get, and
 * which command lines are refused outright.
 *
 * These rules catch mistakes and make intent visible (every refusal becomes a SafetyEvent); they
 * are NOT the security boundary. A determined command can always write a forbidden file or reach
 * for a secret in ways no pattern list anticipates (`sh -c "$(echo Y3VybA== | base64 -d)"`). The
 * boundary is the sandbox: no network, no credentials inside, non-root, read-only root, no
 * capabilities, resource limits, and the host pushes only what delivery checks.
 */

export interface ScopeLimits {
  /** glob patterns added to DEFAULT_FORBIDDEN_PATHS (defaults apply, but for those allowDefaults lifts) */
  forbiddenPaths?: string[];
  /** patterns of OVERRIDABLE_FORBIDDEN_PATHS this project lifts (e.g. a repository whose fixes may touch .gitattributes) */
  allowDefaults?: string[];
  maxFileBytes?: number;
  /** used by delivery */
  maxFilesChanged?: number;
  /** used by delivery */
  maxLinesChanged?: number;
}

/**
 * Patterns without a slash match a file or folder name at any depth (like .gitignore);
 * patterns with a slash match from the repository root. `*` stays within a path segment,
 * `**` spans segments, `dir/**` also covers `dir` itself.
 */
export const DEFAULT_FORBIDDEN_PATHS = [
  '.env',
  '.env.*',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  'id_rsa*',
  'id_ed25519*',
  'id_ecdsa*',
  '.npmrc',
  '.netrc',
  'secrets/**',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  '.git/**',
  // CI configuration: a pushed workflow runs on the CI service with the repository's secrets.
  // The whole of .github: workflows, composite actions, CODEOWNERS and dependabot all steer CI or review.
  '.github/**',
  '.gitlab-ci.yml',
  '.gitlab/**', // CI templates that .gitlab-ci.yml includes
  '.circleci/**',
  '.buildkite/**',
  'Jenkinsfile',
  'azure-pipelines.yml',
  '.travis.yml',
];

/**
 * Files that make code run in CI or on a developer's machine, or that steer review: forbidden by
 * default like the list above, but a project may lift each (ScopeLimits.allowDefaults).
 */
export const OVERRIDABLE_FORBIDDEN_PATHS = [
  '.gitattributes', // filter/diff drivers run commands on checkout and diff
  '.gitmodules', // submodules fetch code from elsewhere
  '.husky/**', // git hooks installed by npm install
  '.pre-commit-config.yaml', // hooks pre-commit installs and runs
  'lefthook.yml',
  '.lefthook.yml',
  'CODEOWNERS', // who must review (in the root, docs/ or .github/)
  '.envrc', // direnv runs it on cd
  '.vscode/**', // tasks that run on folder open
  '.devcontainer/**', // commands run when the container is built
];

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

export type ScopeCheck = { ok: true } | { ok: false; reason: string };

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // "**/" = any number of leading folders; a trailing "/**" = the folder and anything in it
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re.replace(/\/\.\*$/, '(?:/.*)?')}$`);
}

/** Does a repository-relative path (no leading slash) match a forbidden pattern? */
export function matchForbidden(relPath: string, patterns: string[]): string | undefined {
  const path = relPath.replace(/^\.\/+/, '').replace(/\/+$/, '');
  const segments = path.split('/');
  for (const pattern of patterns) {
    const anchored = pattern.replace(/^\//, '');
    const re = globToRegExp(anchored);
    if (anchored.includes('/')) {
      if (re.test(path)) return pattern;
      // a pattern for a folder also forbids what is inside it, at any depth for unanchored ones
      if (!pattern.startsWith('/') && segments.some((_, i) => re.test(segments.slice(i).join('/')))) return pattern;
    } else if (segments.some((s) => re.test(s))) {
      // "secrets" forbids secrets/x too; "*.pem" forbids a folder named x.pem and its content
      return pattern;
    }
  }
  return undefined;
}

export function effectiveForbiddenPaths(limits: ScopeLimits = {}): string[] {
  const lifted = new Set(limits.allowDefaults ?? []);
  return [...DEFAULT_FORBIDDEN_PATHS, ...OVERRIDABLE_FORBIDDEN_PATHS.filter((p) => !lifted.has(p)), ...(limits.forbiddenPaths ?? [])];
}

/** The check every write goes through (write_file, edit_file). */
export function checkWrite(relPath: string, sizeBytes: number, limits: ScopeLimits = {}): ScopeCheck {
  const hit = matchForbidden(relPath, effectiveForbiddenPaths(limits));
  if (hit) return { ok: false, reason: `writing ${relPath} is not allowed (forbidden path pattern "${hit}"). Fix the bug without changing it.` };
  const max = limits.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (sizeBytes > max) return { ok: false, reason: `${relPath} would be ${sizeBytes} bytes; files may be at most ${max} bytes.` };
  return { ok: true };
}

/** Changed paths (e.g. from `git diff --name-only`) that break the limits: for delivery. */
export function scopeViolations(changedPaths: string[], limits: ScopeLimits = {}): string[] {
  const patterns = effectiveForbiddenPaths(limits);
  return changedPaths.filter((p) => matchForbidden(p, patterns) !== undefined);
}

interface DeniedCommand {
  name: string;
  pattern: RegExp;
  why: string;
}

/** Word boundary that also treats `;|&()` and quotes as separators. */
const W = String.raw`(?:^|[\s;|&()'"\x60])`;

export const DENIED_COMMANDS: DeniedCommand[] = [
  // Anything between `git` and the verb within one simple command (`git -C x -c k=v push`).
  { name: 'git-push', pattern: new RegExp(String.raw`${W}git\s[^;|&\n]*\bpush\b`), why: 'pushing is done by the service after validation' },
  { name: 'git-remote', pattern: new RegExp(String.raw`${W}git\s[^;|&\n]*\bremote\s+(?:add|set-url)\b`), why: 'the sandbox copy has no remote on purpose' },
  {
    name: 'network-client',
    pattern: new RegExp(String.raw`${W}(?:curl|wget|nc|ncat|netcat|ssh|scp|sftp|ftp|telnet)(?=$|[\s;|&)'"\x60])`),
    why: 'the sandbox has no network',
  },
  {
    name: 'rm-root',
    pattern: new RegExp(String.raw`${W}rm\s+(?:-\S+\s+)*(?:--\s+)?(?:/|/\*|~|\$HOME)(?=$|[\s;|&)])`),
    why: 'removing the filesystem root or home is never part of a fix',
  },
  { name: 'proc-environ', pattern: /\/proc\/[^\s/]*\/environ\b/, why: 'process environments are off limits' },
  { name: 'privilege', pattern: new RegExp(String.raw`${W}(?:sudo|su|doas)(?=$|\s)`), why: 'there is no privilege to gain in the sandbox' },
];

export type CommandCheck = { ok: true } | { ok: false; rule: string; reason: string };

export function checkCommand(command: string): CommandCheck {
  for (const rule of DENIED_COMMANDS) {
    if (rule.pattern.test(command)) {
      return { ok: false, rule: rule.name, reason: `Command refused by the ${rule.name} rule: ${rule.why}.` };
    }
  }
  return { ok: true };
}
