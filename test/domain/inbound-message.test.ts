/** Email HTML bodies to text: tags and script/style out, and hostile HTML converted in linear time. */
import { describe, expect, test } from 'vitest';
import { parseProviderJson } from '../../src/intake/inbound-message.js';

const fromHtml = async (html: string) => (await parseProviderJson({ from: 'jane@shop.example', Subject: 's', TextBody: '', HtmlBody: html })).text;

describe('HTML email bodies', () => {
  test('tags, scripts and styles are removed, text and stray brackets kept', async () => {
    expect(await fromHtml('<p>Checkout <b>fails</b>&nbsp;on pay</p><SCRIPT type="x">alert(1)</script><style>p{}</STYLE>after')).toBe(
      'Checkout fails on pay after',
    );
    expect(await fromHtml('a <> b < c')).toBe('a <> b < c');
    expect(await fromHtml('<script>never closed <i>x</i>')).toBe('never closed x');
  });

  // The regex version took ~6 s for 100 KB of these (minutes for 1 MB), blocking every request.
  test.each([
    ['a run of <', '<'.repeat(1_000_000)],
    ['repeated <script', '<script '.repeat(125_000)],
    ['unclosed scripts with tags', '<script><b>'.repeat(100_000)],
  ])('1 MB of %s is converted in linear time', async (_name, html) => {
    const started = performance.now();
    const text = await fromHtml(html);
    // Linear takes milliseconds; the quadratic regexes took minutes at this size.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(text.length).toBeGreaterThan(0);
  });

  test('the HTML is cut at 200 KB before conversion', async () => {
    expect(await fromHtml(`${'<br>'.repeat(49_000)}<p>kept</p>`)).toBe('kept');
    // Past the cut: only tags before it, so no text at all and the subject stands in.
    expect(await fromHtml(`${'<br>'.repeat(51_000)}<p>dropped</p>`)).toBe('s');
  });
});
