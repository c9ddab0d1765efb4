/**
 * How a protocol frames one record's data (JSON text) into its RECORD line, as plain data: the
 * protocol layers (airbyte/messages.ts, singer/messages.ts) define it, and the same `framer` applies it
 * on the main thread and in the block workers (streams/block-worker.ts), so both make the same bytes.
 */
export interface RecordFraming {
  /** Text before the data. */
  readonly before: string;
  /** Text between the data and the time. */
  readonly between: string;
  /** The time the record was read: Date.now() as a number, or as an ISO 8601 string (quotes go in between/after). */
  readonly time: 'epoch-ms' | 'iso';
  /** Text after the time (no line feed). */
  readonly after: string;
}

/** data → one RECORD line (without the line feed). */
export function framer(framing: RecordFraming): (data: string) => string {
  const { before, between, after } = framing;
  if (framing.time === 'epoch-ms') return (data) => `${before}${data}${between}${Date.now()}${after}`;
  // One ISO string per millisecond, not one Date per record.
  let lastMs = 0;
  let lastIso = '';
  return (data) => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return `${before}${data}${between}${lastIso}${after}`;
  };
}
