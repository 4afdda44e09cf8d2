/**
 * Which GitHub webhook deliveries ask for a fix, decided from the payload alone (pure): an issue
 * labelled with the project's label, assigned to the bot, or a comment on an issue that starts
 * with the project's command or mentions the bot. The permission of the person who asked is
 * checked later through the API (the issue workflow), never taken from the payload.
 */

export interface GitHubTriggerSettings {
  /** label that asks for a fix; null: labels never trigger */
  label: string | null;
  /** assigning the issue to the bot asks for a fix */
  assignToBot: boolean;
  /** a comment whose first word is this command (e.g. "/bugfix") asks for a fix; null: off */
  command: string | null;
  /** a comment that @mentions the bot asks for a fix */
  mention: boolean;
}

export const DEFAULT_GITHUB_TRIGGERS: GitHubTriggerSettings = { label: 'bugfix', assignToBot: true, command: '/bugfix', mention: true };

export type TriggerKind = 'label' | 'assign' | 'command' | 'mention';

/** What the issue workflow gets: enough to check permission, file the report and answer. */
export interface IssueTrigger {
  kind: TriggerKind;
  deliveryId: string;
  repoFullName: string;
  issueNumber: number;
  issueTitle: string;
  issueBody: string;
  issueUrl: string;
  /** login of whoever labelled, assigned or commented */
  requestedBy: string;
  /** the comment that asked, when a comment did (extra instructions for the fix) */
  comment?: string;
}

export type TriggerDecision = { trigger: Omit<IssueTrigger, 'deliveryId'> } | { ignored: string };

interface User {
  login?: string;
  type?: string;
}
interface Issue {
  number?: number;
  title?: string;
  body?: string | null;
  html_url?: string;
  state?: string;
  pull_request?: unknown;
}
interface Payload {
  action?: string;
  sender?: User;
  repository?: { full_name?: string };
  issue?: Issue;
  label?: { name?: string };
  assignee?: User | null;
  comment?: { body?: string; user?: User };
}

const sameLogin = (a: string | undefined, b: string) => !!a && a.toLowerCase() === b.toLowerCase();

/** "@bugfix-bot" as a word: not inside an e-mail address or a longer name. */
export function mentions(body: string, botLogin: string): boolean {
  const name = botLogin.replace(/\[bot\]$/i, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w@/.-])@${name}(?![\\w-])`, 'i').test(body);
}

export function startsWithCommand(body: string, command: string): boolean {
  const first = body.trimStart().split(/\s/, 1)[0] ?? '';
  return first.toLowerCase() === command.toLowerCase();
}

/** The bot itself (as a user or as a GitHub App) or any other app. */
export function isBotSender(sender: User | undefined, botLogin: string): boolean {
  return sameLogin(sender?.login, botLogin) || sameLogin(sender?.login, `${botLogin}[bot]`) || sender?.type === 'Bot';
}

export function decideTrigger(event: string, payload: unknown, settings: GitHubTriggerSettings, botLogin: string): TriggerDecision {
  const p = (payload ?? {}) as Payload;
  const what = `${event}${p.action ? `.${p.action}` : ''}`;
  const sender = p.sender?.login;
  // The bot's own comments, labels and assignments (and other apps') never start anything: no loops.
  if (isBotSender(p.sender, botLogin)) {
    return { ignored: `${what} by a bot (${sender ?? 'unknown'})` };
  }
  const issue = p.issue;
  const repo = p.repository?.full_name;
  if (!issue || !repo || typeof issue.number !== 'number') return { ignored: `unsupported event ${what}` };
  // Comments on pull requests are follow-ups (src/domain/github/pull-events.ts), never a new fix.
  if (issue.pull_request) return { ignored: `${what} on a pull request is not a new fix` };
  if (issue.state && issue.state !== 'open') return { ignored: `${what} on a ${issue.state} issue` };

  const base = {
    repoFullName: repo,
    issueNumber: issue.number,
    issueTitle: issue.title ?? `Issue #${issue.number}`,
    issueBody: issue.body ?? '',
    issueUrl: issue.html_url ?? '',
    requestedBy: sender ?? 'unknown',
  };
  if (event === 'issues' && p.action === 'labeled') {
    if (settings.label && sameLogin(p.label?.name, settings.label)) return { trigger: { ...base, kind: 'label' } };
    return { ignored: `label "${p.label?.name ?? ''}" is not the project's trigger label` };
  }
  if (event === 'issues' && p.action === 'assigned') {
    if (settings.assignToBot && (sameLogin(p.assignee?.login, botLogin) || sameLogin(p.assignee?.login, `${botLogin}[bot]`))) {
      return { trigger: { ...base, kind: 'assign' } };
    }
    return { ignored: `assigned to ${p.assignee?.login ?? 'nobody'}, not to the bot` };
  }
  if (event === 'issue_comment' && p.action === 'created') {
    const body = p.comment?.body ?? '';
    if (settings.command && startsWithCommand(body, settings.command)) return { trigger: { ...base, kind: 'command', comment: body } };
    if (settings.mention && mentions(body, botLogin)) return { trigger: { ...base, kind: 'mention', comment: body } };
    return { ignored: 'comment neither starts with the command nor mentions the bot' };
  }
  return { ignored: `unsupported event ${what}` };
}
