/**
 * The one date normaliser. Every date the connector compares is in "cursor form",
 * `YYYY-MM-DDTHH:MM:SS` in UTC without a zone (as Hotjar's file gives `Date Submitted`, taken as UTC).
 * In that form string order is time order, so cursors compare as strings. Only years 1970–9999 are
 * accepted: a later year has no four-digit form and would sort before every real date.
 */
const CURSOR_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;
const INPUT_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
export const MIN_YEAR = 1970;
export const MAX_YEAR = 9999;

/**
 * A date or date-time from a config or state file in cursor form, or undefined when it is not one:
 * `YYYY-MM-DD` (midnight), `YYYY-MM-DD HH:MM[:SS]`, ISO 8601 with `T`, fractions (dropped) and a zone
 * (converted to UTC; none means UTC). The calendar date must exist and the UTC year be 1970–9999.
 */
export function toCursor(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = INPUT_RE.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', , zone] = m;
  const local = `${y}-${mo}-${d}T${h}:${mi}:${s}`;
  if (!validCalendar(local)) return undefined;
  const offsetMin = zone === undefined || zone === 'Z' ? 0 : zoneMinutes(zone);
  if (offsetMin === undefined) return undefined;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetMin * 60_000;
  return fromMs(ms);
}

/** Milliseconds since the epoch in cursor form, or undefined outside years 1970–9999. */
export function fromMs(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return undefined;
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  if (year < MIN_YEAR || year > MAX_YEAR) return undefined;
  return date.toISOString().slice(0, 19);
}

function zoneMinutes(zone: string): number | undefined {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!m) return undefined;
  const hours = Number(m[2]);
  const minutes = Number(m[3]);
  if (hours > 23 || minutes > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

function validCalendar(text: string): boolean {
  const y = Number(text.slice(0, 4));
  const mo = Number(text.slice(5, 7));
  const d = Number(text.slice(8, 10));
  const h = Number(text.slice(11, 13));
  const mi = Number(text.slice(14, 16));
  const s = Number(text.slice(17, 19));
  if (y < MIN_YEAR || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/** The later of two cursors; undefined counts as "no cursor". */
export function maxCursor(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a >= b ? a : b;
}

/**
 * Parses `Date Submitted` cells (`YYYY-MM-DD HH:MM:SS`) on the hot path. Rows come sorted, so the
 * day part rarely changes: a day once checked is remembered, and then only the time of day is checked.
 */
export class FileDateParser {
  private lastGoodDay = '';

  /** The cell in cursor form, or undefined when it is not a real date-time of years 1970–9999. */
  parse(value: string): string | undefined {
    if (value.length !== 19) return undefined;
    const sep = value.charCodeAt(10);
    if (sep !== 32 && sep !== 84) return undefined;
    const out = sep === 32 ? `${value.slice(0, 10)}T${value.slice(11)}` : value;
    if (!CURSOR_RE.test(out)) return undefined;
    const day = out.slice(0, 10);
    if (day === this.lastGoodDay) {
      const hourTooBig = out.charCodeAt(11) > 50 || (out.charCodeAt(11) === 50 && out.charCodeAt(12) > 51);
      return hourTooBig || out.charCodeAt(14) > 53 || out.charCodeAt(17) > 53 ? undefined : out;
    }
    if (!validCalendar(out)) return undefined;
    this.lastGoodDay = day;
    return out;
  }
}
