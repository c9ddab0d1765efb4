/**
 * The ceiling for the connector's read path: file → csv-parse (columns, bom) → one Airbyte RECORD JSON
 * line per row → /dev/null in 64 KB batches, respecting backpressure. No HTTP, no ZIP, no connector
 * logic. Usage: node dist/bench/ceiling.js <csv>. Prints {"rows":…,"ms":…} on stdout.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { parse } from 'csv-parse';

const BATCH = 64 * 1024;

async function main(): Promise<void> {
  const csv = process.argv[2];
  if (!csv) throw new Error('usage: ceiling.js <csv>');
  const t0 = performance.now();
  const out = createWriteStream('/dev/null');
  const parser = createReadStream(csv).pipe(parse({ columns: true, bom: true }));
  let rows = 0;
  let batch = '';
  for await (const row of parser as AsyncIterable<Record<string, string>>) {
    batch += JSON.stringify({ type: 'RECORD', record: { stream: 'survey_responses', data: row, emitted_at: Date.now() } }) + '\n';
    rows++;
    if (batch.length >= BATCH) {
      const ok = out.write(batch);
      batch = '';
      if (!ok) await once(out, 'drain');
    }
  }
  if (batch) out.write(batch);
  out.end();
  await once(out, 'close');
  process.stdout.write(JSON.stringify({ rows, ms: performance.now() - t0 }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
