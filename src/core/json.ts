/**
 * JSON values and the JSON files a user hands us (config, catalog, state): one object guard, and one
 * reader that turns every problem into a ConfigError naming the file and the fix.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from './errors.js';

export type JsonObject = { [key: string]: unknown };

/** The one JSON-object guard: a plain object, not null, not an array. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A value from a user's file, quoted for a message: at most `max` characters, so a huge value is never
 * printed whole, and never a crash (JSON.stringify overflows the stack on deeply nested arrays or objects).
 */
export function preview(value: unknown, max = 60): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? '[…] (nested too deeply to show)' : '{…} (nested too deeply to show)';
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Config, catalog and state files are small; anything larger is a mistake (or hostile). */
export const MAX_INPUT_BYTES = 10 * 1024 * 1024;

/**
 * Reads a JSON file. `allowEmpty` turns an empty (or whitespace-only) file into `undefined`.
 * `secret` (the config) keeps the text out of parse errors: only line and column are given.
 */
export function readJsonFile(path: string, what: string, opts: { allowEmpty?: boolean; secret?: boolean } = {}): unknown {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new ConfigError(`The ${what} file ${path} is not a regular file. Pass the path of a JSON file.`);
    size = stat.size;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'cannot be read (permission denied)'
          : `cannot be read (${code ?? String(err)})`;
    throw new ConfigError(`The ${what} file ${path} ${why}. Check the path and the file's permissions.`, { cause: err });
  }
  if (size > MAX_INPUT_BYTES) {
    throw new ConfigError(
      `The ${what} file ${path} is ${size} bytes, more than the ${MAX_INPUT_BYTES} bytes allowed. Pass the right file.`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`The ${what} file ${path} cannot be read (${code ?? 'error'}). Check its permissions.`, { cause: err });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') {
    if (opts.allowEmpty) return undefined;
    throw new ConfigError(`The ${what} file ${path} is empty. It must hold a JSON object.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // V8's message quotes the text around the error; a config file holds secrets, so for it only the
    // line and column are given.
    const detail = opts.secret ? jsonErrorPlace(text) : err instanceof Error ? err.message.slice(0, 200) : 'syntax error';
    throw new ConfigError(`The ${what} file ${path} is not valid JSON (${detail}). Fix the file's syntax.`);
  }
}

/** Where JSON.parse gives up, as "line L, column C", found without quoting the text. */
function jsonErrorPlace(text: string): string {
  // The first offset at which no completion could make the text valid: a prefix that fails with
  // "unexpected end" could still be completed; one that fails otherwise cannot.
  const fails = (n: number): boolean => {
    try {
      JSON.parse(text.slice(0, n));
      return false;
    } catch (e) {
      return !/end of (JSON )?input|Unterminated|Expected .* after|Unexpected end/i.test(String(e));
    }
  };
  if (!fails(text.length)) return 'unexpected end of file';
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fails(mid + 1)) hi = mid;
    else lo = mid + 1;
  }
  const before = text.slice(0, lo);
  const line = before.split('\n').length;
  const column = lo - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}
