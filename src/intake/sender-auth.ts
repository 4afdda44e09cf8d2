/**
 * Whether the receiving mail provider authenticated an inbound email's From domain (SPF, DKIM,
 * DMARC), read from what providers really send: the Authentication-Results header their MX adds
 * (raw MIME, Postmark's Headers, Mailgun's message-headers, SendGrid's headers), Received-SPF
 * (Postmark), SendGrid's `SPF`/`dkim`/`envelope` fields and Mailgun's `X-Mailgun-Spf` with its
 * envelope `sender`. A pass counts only when its domain is aligned with the From domain (the same
 * domain or one a subdomain of the other): an attacker's own domain passing SPF proves nothing
 * about the From address the project is chosen by.
 */

export interface SenderAuthEvidence {
  /** Authentication-Results header values, topmost (added last, by the receiving MX) first */
  authResults: string[];
  /** Received-SPF header values, topmost first */
  receivedSpf: string[];
  /** a provider's own SPF verdict and the envelope sender it was checked for */
  spf?: { result: string; mailFrom?: string };
  /** a provider's own DKIM verdicts by signing domain */
  dkim: Array<{ domain: string; result: string }>;
}

export interface SenderAuthPolicy {
  /** off: the From header alone picks the project (only for providers that drop unauthenticated mail themselves) */
  required: boolean;
  /**
   * authserv-ids whose Authentication-Results are trusted (the provider's MX, e.g. mx.google.com).
   * Empty: only the topmost header counts, the one the receiving provider added.
   */
  authservIds: readonly string[];
}

export const emptyEvidence = (): SenderAuthEvidence => ({ authResults: [], receivedSpf: [], dkim: [] });

const domainOf = (s: string | undefined): string | undefined => {
  const d = s?.trim().toLowerCase().replace(/^<|>$/g, '').split('@').pop()?.replace(/\.$/, '');
  return d && /^[a-z0-9.-]+\.[a-z0-9-]+$/.test(d) ? d : undefined;
};

/** Relaxed alignment: equal, or one is a subdomain of the other. */
export function aligned(domain: string | undefined, fromDomain: string): boolean {
  if (!domain) return false;
  return domain === fromDomain || fromDomain.endsWith(`.${domain}`) || domain.endsWith(`.${fromDomain}`);
}

interface MethodResult {
  method: string;
  result: string;
  props: Record<string, string>;
}

/** `mx.example; spf=pass smtp.mailfrom=a@b.c; dkim=pass header.d=b.c` → authserv-id and results. */
export function parseAuthenticationResults(value: string): { authservId: string; results: MethodResult[] } {
  // Comments in parentheses carry free text (which may contain "=" or ";"): dropped first.
  const clean = value.replace(/\([^()]*\)/g, ' ').replace(/\s+/g, ' ');
  const [id = '', ...parts] = clean.split(';');
  const results: MethodResult[] = [];
  for (const part of parts) {
    const tokens = part.trim().split(' ').filter(Boolean);
    const head = /^([a-z0-9-]+)=([a-z]+)$/i.exec(tokens[0] ?? '');
    if (!head) continue;
    const props: Record<string, string> = {};
    for (const t of tokens.slice(1)) {
      const kv = /^([a-z0-9.-]+)=(.+)$/i.exec(t);
      if (kv) props[kv[1]!.toLowerCase()] = kv[2]!.replace(/^"|"$/g, '');
    }
    results.push({ method: head[1]!.toLowerCase(), result: head[2]!.toLowerCase(), props });
  }
  return { authservId: id.trim().split(' ')[0]!.toLowerCase(), results };
}

export interface SenderVerdict {
  authenticated: boolean;
  /** what passed, or why nothing did */
  reason: string;
}

export function senderVerdict(evidence: SenderAuthEvidence, from: string, policy: SenderAuthPolicy): SenderVerdict {
  const fromDomain = domainOf(from);
  if (!fromDomain) return { authenticated: false, reason: 'the sender has no domain' };
  const passes: string[] = [];
  const trusted = policy.authservIds.map((s) => s.toLowerCase());
  const headers = trusted.length > 0 ? evidence.authResults : evidence.authResults.slice(0, 1);
  for (const value of headers) {
    const { authservId, results } = parseAuthenticationResults(value);
    if (trusted.length > 0 && !trusted.includes(authservId)) continue;
    for (const r of results) {
      if (r.result !== 'pass') continue;
      if (r.method === 'dmarc' && (r.props['header.from'] === undefined || aligned(domainOf(r.props['header.from']), fromDomain))) passes.push('dmarc=pass');
      if (r.method === 'dkim' && aligned(domainOf(r.props['header.d'] ?? r.props['header.i']), fromDomain)) passes.push('dkim=pass (aligned)');
      if (r.method === 'spf' && aligned(domainOf(r.props['smtp.mailfrom'] ?? r.props['smtp.mail']), fromDomain)) passes.push('spf=pass (aligned)');
    }
  }
  const spfHeader = evidence.receivedSpf[0];
  if (spfHeader && /^\s*pass\b/i.test(spfHeader) && aligned(domainOf(/envelope-from=("?)([^";\s]+)\1/i.exec(spfHeader)?.[2]), fromDomain))
    passes.push('Received-SPF: pass (aligned)');
  if (evidence.spf && /^pass$/i.test(evidence.spf.result.trim()) && aligned(domainOf(evidence.spf.mailFrom), fromDomain))
    passes.push('provider SPF pass (aligned)');
  for (const d of evidence.dkim) if (/^pass$/i.test(d.result) && aligned(domainOf(d.domain), fromDomain)) passes.push('provider DKIM pass (aligned)');
  if (passes.length > 0) return { authenticated: true, reason: [...new Set(passes)].join(', ') };
  return {
    authenticated: false,
    reason: `the mail provider did not authenticate ${fromDomain} (no DMARC pass, and no SPF or DKIM pass aligned with the From domain)`,
  };
}

/** SendGrid's `dkim` field: "{@example.com : pass, @other.org : fail}". */
export function parseSendgridDkim(field: string): Array<{ domain: string; result: string }> {
  return [...field.matchAll(/@?([a-z0-9.-]+\.[a-z0-9-]+)\s*:\s*([a-z]+)/gi)].map((m) => ({ domain: m[1]!.toLowerCase(), result: m[2]!.toLowerCase() }));
}

/** Unfolded values of one header from a raw header block ("Name: value\r\n\tcontinued"). */
export function headerValues(block: string, name: string): string[] {
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  const prefix = `${name.toLowerCase()}:`;
  return unfolded
    .split(/\r?\n/)
    .filter((l) => l.toLowerCase().startsWith(prefix))
    .map((l) => l.slice(prefix.length).trim());
}
