/**
 * Parse-and-route of GitHub webhook deliveries, on the real example payloads GitHub documents
 * (@octokit/webhooks-examples), not on payloads written here.
 */
import { describe, expect, it } from 'vitest';
import { decideTrigger, DEFAULT_GITHUB_TRIGGERS, type GitHubTriggerSettings } from '../../src/domain/github/triggers.js';
import { allWebhookExamples, webhookExample } from '../../dev/stand-ins/webhook-examples.js';

const settings = (s: Partial<GitHubTriggerSettings> = {}): GitHubTriggerSettings => ({ ...DEFAULT_GITHUB_TRIGGERS, ...s });

describe('GitHub triggers on real webhook payloads', () => {
  it("an issue labelled with the project's label asks for a fix; another label does not", () => {
    const labeled = webhookExample('issues.labeled'); // labelled "bug" on Codertocat/Hello-World#1
    const hit = decideTrigger('issues', labeled, settings({ label: 'Bug' }), 'bugfix-bot');
    expect(hit).toEqual({
      trigger: expect.objectContaining({ kind: 'label', repoFullName: 'Codertocat/Hello-World', issueNumber: 1, requestedBy: 'Codertocat' }),
    });
    expect(decideTrigger('issues', labeled, settings(), 'bugfix-bot')).toEqual({ ignored: expect.stringContaining('"bug"') });
    expect(decideTrigger('issues', labeled, settings({ label: null }), 'bugfix-bot')).toHaveProperty('ignored');
  });

  it('assigning the issue to the bot asks for a fix, to someone else not', () => {
    const assigned = webhookExample('issues.assigned'); // assigned to Codertocat
    assigned.sender = { ...assigned.sender, login: 'maintainer' };
    expect(decideTrigger('issues', assigned, settings(), 'codertocat')).toEqual({ trigger: expect.objectContaining({ kind: 'assign' }) });
    expect(decideTrigger('issues', assigned, settings(), 'bugfix-bot')).toHaveProperty('ignored');
    expect(decideTrigger('issues', assigned, settings({ assignToBot: false }), 'codertocat')).toHaveProperty('ignored');
  });

  it('a comment that starts with the command or mentions the bot asks for a fix, with the comment', () => {
    const created = webhookExample('issue_comment.created');
    expect(decideTrigger('issue_comment', created, settings(), 'bugfix-bot')).toEqual({ ignored: expect.stringContaining('neither') });
    const command = webhookExample('issue_comment.created');
    command.comment.body = '/bugfix the totals are off by one';
    expect(decideTrigger('issue_comment', command, settings(), 'bugfix-bot')).toEqual({
      trigger: expect.objectContaining({ kind: 'command', comment: '/bugfix the totals are off by one' }),
    });
    const mention = webhookExample('issue_comment.created');
    mention.comment.body = 'Could @bugfix-bot take this one?';
    expect(decideTrigger('issue_comment', mention, settings(), 'bugfix-bot')).toEqual({ trigger: expect.objectContaining({ kind: 'mention' }) });
    for (const body of ['write to ops@bugfix-bot.example', '@bugfix-bot2 look', 'not /bugfix first']) {
      const other = webhookExample('issue_comment.created');
      other.comment.body = body;
      expect(decideTrigger('issue_comment', other, settings(), 'bugfix-bot'), body).toHaveProperty('ignored');
    }
  });

  it("the bot's own events and other apps' never trigger (no loops)", () => {
    const mention = webhookExample('issue_comment.created');
    mention.comment.body = '/bugfix';
    mention.sender = { ...mention.sender, login: 'bugfix-bot[bot]', type: 'Bot' };
    expect(decideTrigger('issue_comment', mention, settings(), 'bugfix-bot')).toEqual({ ignored: expect.stringContaining('bot') });
    const labeled = webhookExample('issues.labeled');
    labeled.sender = { ...labeled.sender, login: 'bugfix-bot', type: 'User' };
    expect(decideTrigger('issues', labeled, settings({ label: 'bug' }), 'bugfix-bot')).toHaveProperty('ignored');
  });

  it('comments on pull requests and closed issues are not new fixes', () => {
    const onPr = webhookExample('issue_comment.created');
    onPr.comment.body = '/bugfix';
    onPr.issue.pull_request = { url: 'https://api.github.com/repos/Codertocat/Hello-World/pulls/1' };
    expect(decideTrigger('issue_comment', onPr, settings(), 'bugfix-bot')).toEqual({ ignored: expect.stringContaining('pull request') });
    const closed = webhookExample('issues.labeled');
    closed.issue.state = 'closed';
    expect(decideTrigger('issues', closed, settings({ label: 'bug' }), 'bugfix-bot')).toEqual({ ignored: expect.stringContaining('closed') });
  });

  it('every documented example of every event gets a decision, and only the three triggers start anything', () => {
    let decided = 0;
    let triggered = 0;
    for (const { event, payload } of allWebhookExamples()) {
      const d = decideTrigger(event, payload, settings({ label: 'bug' }), 'bugfix-bot');
      decided += 1;
      if ('trigger' in d) triggered += 1;
      if ('trigger' in d) expect(['issues.labeled', 'issues.assigned', 'issue_comment.created']).toContain(`${event}.${payload.action}`);
      else expect(d.ignored.length).toBeGreaterThan(0);
    }
    expect(decided).toBeGreaterThan(200);
    expect(triggered).toBe(2); // the two "bug" labellings
  });
});
