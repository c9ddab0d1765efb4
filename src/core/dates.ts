/**
 * The cursor: a response's `Date Submitted` in the form records carry it, `YYYY-MM-DDTHH:MM:SS` (no zone,
 * as in Hotjar's file, taken as UTC). In that form, string order is time order.
 */
export const CURSOR_FIELD = 'Date Submitted';

const CURSOR_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

/**
 * Normalises a date or date-time to the cursor form, or returns undefined when it is not one.
 * Accepts `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, ISO 8601 with `T`, fractions and a zone (converted to UTC).
 */
export function toCursor(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (CURSOR_RE.test(text) && validCalendar(text)) return text;
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!m) return undefined;
  const [, date, hm, sec, frac, zone] = m;
  const local = `${date}T${hm ?? '00:00'}:${sec ?? '00'}${frac ?? ''}`;
  if (!validCalendar(local)) return undefined;
  const zoneIso = zone === undefined ? 'Z' : zone === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(local + zoneIso);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString().slice(0, 19);
}

function validCalendar(text: string): boolean {
  const y = Number(text.slice(0, 4));
  const mo = Number(text.slice(5, 7));
  const d = Number(text.slice(8, 10));
  const h = Number(text.slice(11, 13));
  const mi = Number(text.slice(14, 16));
  const s = Number(text.slice(17, 19));
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d <= days;
}

/** The later of two cursors; undefined counts as "no cursor". */
export function maxCursor(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a >= b ? a : b;
}

/** Calendar days already checked: rows come sorted, so the day part rarely changes (hot path). */
let lastGoodDay = '';

/** A response's `Date Submitted` from the file (`YYYY-MM-DD HH:MM:SS`) in cursor form, or undefined. */
export function fileDateToCursor(value: string): string | undefined {
  if (value.length !== 19) return undefined;
  const sep = value.charCodeAt(10);
  if (sep !== 32 && sep !== 84) return undefined;
  const out = sep === 32 ? `${value.slice(0, 10)}T${value.slice(11)}` : value;
  if (!CURSOR_RE.test(out)) return undefined;
  const day = out.slice(0, 10);
  if (day === lastGoodDay) {
    // Same day as the row before: only the time of day needs checking.
    return out.charCodeAt(11) > 50 || (out.charCodeAt(11) === 50 && out.charCodeAt(12) > 51) || out.charCodeAt(14) > 53 || out.charCodeAt(17) > 53
      ? undefined
      : out;
  }
  if (!validCalendar(out)) return undefined;
  lastGoodDay = day;
  return out;
}

/** The cursor `seconds` earlier (for the safety window of the early stop). */
export function cursorMinusSeconds(cursor: string, seconds: number): string {
  return new Date(Date.parse(`${cursor}Z`) - seconds * 1000).toISOString().slice(0, 19);
}
