/**
 * Secret masking. Every value that must never be printed (password, client secret, tokens, every
 * cookie value taken from Set-Cookie, X-Acc, the login access_key, each query value of a signed URL) is
 * registered here as soon as it is known; every LOG, TRACE, CONNECTION_STATUS message and every line on
 * stderr passes through `mask` before it is written, and text from a server is masked BEFORE it is
 * shortened or its whitespace collapsed (`snippet`), so a cut can never expose part of a secret.
 *
 * Each secret is masked in every form it may be printed in: raw, JSON-escaped, URL-encoded (upper- and
 * lower-case hex, `+` for spaces) and with its whitespace collapsed. Short secrets are masked too, even a
 * single character, at the price of masking innocent text. RECORD messages (survey data) are not scanned.
 */
const MASK = '**********';
const secrets = new Set<string>();
let pattern: RegExp | undefined;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The forms a secret may take when some system prints it. */
export function secretForms(text: string): string[] {
  const encoded = encodeURIComponent(text);
  const lowerHex = encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
  const forms = new Set([
    text,
    JSON.stringify(text).slice(1, -1),
    encoded,
    lowerHex,
    encoded.replace(/%20/g, '+'),
    lowerHex.replace(/%20/g, '+'),
    new URLSearchParams({ v: text }).toString().slice(2),
    text.replace(/\s+/g, ' '),
    // JSON written with every non-ASCII character escaped (Python's default): "p\u00e4ss".
    JSON.stringify(text)
      .slice(1, -1)
      .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    text.replace(/\s+/g, ' ').trim(),
  ]);
  forms.delete('');
  return [...forms];
}

export function addSecret(value: unknown): void {
  if (typeof value !== 'string' && typeof value !== 'number') return;
  const text = String(value);
  if (text.length === 0) return;
  for (const form of secretForms(text)) secrets.add(form);
  pattern = undefined;
}

export function mask(text: string): string {
  if (secrets.size === 0) return text;
  if (!pattern) {
    const sorted = [...secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
    // A lookahead finds every occurrence, overlapping ones included (one secret may start inside another).
    pattern = new RegExp(`(?=(${sorted.join('|')}))`, 'gi');
  }
  // Mark every range any form of any secret covers, merge overlaps, then replace each merged range once.
  const ranges: [number, number][] = [];
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    const found = m[1] ?? '';
    if (found.length) ranges.push([m.index, m.index + found.length]);
    pattern.lastIndex = m.index + 1;
  }
  if (!ranges.length) return text;
  let out = '';
  let cursor = 0;
  let [start, end] = ranges[0] ?? [0, 0];
  for (const [s, e] of ranges.slice(1)) {
    if (s <= end) {
      end = Math.max(end, e);
      continue;
    }
    out += text.slice(cursor, start) + MASK;
    cursor = end;
    start = s;
    end = e;
  }
  return out + text.slice(cursor, start) + MASK + text.slice(end);
}

/** Server text for a message: masked, then whitespace-collapsed and masked again, then shortened. */
export function snippet(text: string, max = 200): string {
  const collapsed = mask(mask(text).replace(/\s+/g, ' ').trim());
  return collapsed.length > max ? `${collapsed.slice(0, max)}…` : collapsed;
}

/** For tests and for one process serving several runs. */
export function clearSecrets(): void {
  secrets.clear();
  pattern = undefined;
}
