/**
 * The local mode's triage: the scripted model answers the triage tool (record_triage) like a
 * cautious classifier would, so email, chat and form intake can be tried offline. Anything else
 * goes to the wrapped fix script.
 */
import { TRIAGE_TOOL_NAME } from '../../src/domain/organisation/triage-verdict.js';
import type { MessagesRequest, ModelScript } from '../stand-ins/anthropic-api.js';

const BUG_WORDS = /\b(bug|error|crash(es|ed)?|broken|fails?|failing|exception|stack ?trace|500|does(n't| not) work|wrong)\b/i;

function messageText(req: MessagesRequest): string {
  const first = req.messages[0];
  if (!first) return '';
  return typeof first.content === 'string' ? first.content : first.content.map((b) => (typeof b.text === 'string' ? b.text : '')).join('\n');
}

export function answeringTriage(fixScript: ModelScript): ModelScript {
  return (req, turn) => {
    if (!req.tools?.some((t) => t.name === TRIAGE_TOOL_NAME)) return fixScript(req, turn);
    const text = messageText(req);
    const subject = /^Subject: (.*)$/m.exec(text)?.[1]?.trim() ?? '';
    const body = text.split('\n\n').slice(1).join('\n\n').trim();
    if (!BUG_WORDS.test(text))
      return [
        { type: 'tool_use', name: TRIAGE_TOOL_NAME, input: { is_bug_report: false, reason: 'No software misbehaviour is described (scripted triage).' } },
      ];
    return [
      {
        type: 'tool_use',
        name: TRIAGE_TOOL_NAME,
        input: {
          is_bug_report: true,
          reason: 'Describes software misbehaving (scripted triage: it names an error).',
          title: (subject.length >= 3 ? subject : 'Bug report from intake').slice(0, 300),
          description: (body || subject).slice(0, 50_000),
          priority: /\b(outage|data loss|security|down)\b/i.test(text) ? 'CRITICAL' : 'MEDIUM',
        },
      },
    ];
  };
}
