/**
 * Secret masking. Every value that must never be printed (the password, every cookie value taken from
 * Set-Cookie, the X-Acc value, the login access_key, the signed part of a download URL) is registered
 * here as soon as it is known; every LOG, TRACE and CONNECTION_STATUS message and every line on stderr
 * passes through `mask` before it is written. RECORD messages (survey data) are not scanned: they are
 * the user's data, and scanning every row would cost throughput for no gain.
 */
const MASK = '**********';
const secrets = new Set<string>();
let pattern: RegExp | undefined;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function addSecret(value: unknown): void {
  if (typeof value !== 'string' && typeof value !== 'number') return;
  const text = String(value);
  // Very short values (e.g. "1") would mask innocent text everywhere and protect nothing.
  if (text.length < 4) return;
  const forms = [text, JSON.stringify(text).slice(1, -1), encodeURIComponent(text)];
  for (const form of forms) secrets.add(form);
  pattern = undefined;
}

export function mask(text: string): string {
  if (secrets.size === 0) return text;
  if (!pattern) {
    const sorted = [...secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
    pattern = new RegExp(sorted.join('|'), 'g');
  }
  return text.replace(pattern, MASK);
}

/** For tests and for one process serving several runs (the Singer and Airbyte entry points share it). */
export function clearSecrets(): void {
  secrets.clear();
  pattern = undefined;
}
