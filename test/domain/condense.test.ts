/** Condensation's pure rules: when it is due, which turns stay verbatim, and how the stand-in tells a summary request. */
import { expect, test } from 'vitest';
import { CONDENSE_REQUEST, firstKeptTurn, nextPromptReachesLimit, summaryOpening, summaryText } from '../../src/domain/agent/condense.js';
import { isCondenseRequest, turnsSoFar, type MessagesRequest } from '../../dev/stand-ins/anthropic-api.js';

const settings = { contextWindowTokens: 100_000, condenseAtShare: 0.5 };

test('due when the last prompt plus the turn added since reaches the share of the window', () => {
  expect(nextPromptReachesLimit(40_000, 9_999, settings)).toBe(false);
  expect(nextPromptReachesLimit(40_000, 10_000, settings)).toBe(true);
});

test('keeps up to 6 recent turns within a third of the limit, and always the latest', () => {
  const small = Array.from({ length: 10 }, (_, i) => ({ iteration: i + 1, tokens: 1_000 }));
  expect(firstKeptTurn(small, settings)).toBe(5);
  const large = [1, 2, 3, 4].map((iteration) => ({ iteration, tokens: 7_000 }));
  expect(firstKeptTurn(large, settings)).toBe(3); // 14K of the 16.7K a third of 50K allows
  expect(firstKeptTurn([{ iteration: 9, tokens: 90_000 }], settings)).toBe(9);
});

test('an answer without text still condenses, with a pointer to the repository', () => {
  expect(summaryText([{ type: 'text', text: ' Found it. ' }])).toBe('Found it.');
  expect(summaryText([{ type: 'tool_use' }])).toMatch(/git log/);
});

test('the stand-in answers the condense request itself and counts summarised turns as turns', () => {
  const condensed: MessagesRequest = {
    model: 'm',
    max_tokens: 10,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'report' },
          { type: 'text', text: summaryOpening('did things', 7) },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'next' }] },
      { role: 'user', content: [{ type: 'text', text: 'ok' }] },
    ],
  };
  expect(turnsSoFar(condensed)).toBe(8);
  expect(isCondenseRequest(condensed)).toBe(false);
  condensed.messages[2]!.content = [
    { type: 'text', text: 'ok' },
    { type: 'text', text: CONDENSE_REQUEST },
  ];
  expect(isCondenseRequest(condensed)).toBe(true);
});
