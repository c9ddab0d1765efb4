/**
 * A realistic Hotjar survey export of N responses for the benchmark, generated deterministically and
 * cached under .bench/ (keyed by N and GEN_VERSION): `export-N.csv` (every field quoted, "" for a quote,
 * LF, final LF, newest first) and `export-N.zip` (one deflated entry, written with a data descriptor,
 * like a streaming zipper would). Both files are written in one streaming pass: the CSV text goes to
 * the CSV file and, at the same time, through Node's native zlib deflate (level 6, on the thread pool)
 * into the ZIP; nothing larger than one ~1 MB chunk is ever held in memory.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { createDeflateRaw, crc32 } from 'node:zlib';

/** Bump when the generated content changes, to invalidate the cache. */
export const GEN_VERSION = 3;
export const SURVEY_ID = '987654';
export const SITE_ID = '1234567';

export const HEADER = [
  'Number',
  'User',
  'Date Submitted',
  'Country',
  'Source URL',
  'Device',
  'Browser',
  'OS',
  'Hotjar User ID',
  'User ID',
  'How would you rate your experience today?',
  'Tags for: How would you rate your experience today?',
  'What could we do better?\n(optional)',
  'Tags for: What could we do better?\n(optional)',
  'How likely are you to recommend "Shop, Inc." to a friend? (0–10)',
  'Qu’est-ce qui vous a plu ? 🙂',
  'Tags for: Qu’est-ce qui vous a plu ? 🙂',
];

export interface ExportFiles {
  rows: number;
  csvPath: string;
  zipPath: string;
  csvBytes: number;
  zipBytes: number;
  surveyId: string;
  siteId: string;
  /** Date Submitted of the newest and oldest rows. */
  newest: string;
  oldest: string;
  /** True when this call generated the files (false: cache hit). */
  generated: boolean;
  generateMs: number;
}

interface Meta {
  version: number;
  rows: number;
  csvBytes: number;
  zipBytes: number;
  newest: string;
  oldest: string;
}

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the checkout was really slow and I could not find shipping options for my order price delivery took ' +
  'too long support page loading on mobile app crashed twice when I tried to pay with card it declined ' +
  'coupon code did not work search results filter size colour return policy is unclear but overall good ' +
  'experience love products quality would buy again great service fast easy website navigation confusing ' +
  'menu account password reset email never arrived please add more payment methods like PayPal Klarna ' +
  'Apple Pay wishlist cart emptied itself after login stock availability tracking number invoice VAT ' +
  'café naïve 日本語 🎉 résumé Größe überprüfen señor niño 价格 доставка очень хорошо façade jalapeño ' +
  'Zürich São Paulo Kraków 東京 🙂 👍 ❤️ — … £12.99 €15 $20 50% 3-4 days 10am'
).split(' ');
const COUNTRIES = [
  'United Kingdom',
  'Germany',
  'United States',
  "Côte d'Ivoire",
  '日本',
  'France',
  'Brazil',
  'Poland',
  'España',
  'Netherlands',
];
const DEVICES = ['desktop', 'mobile', 'tablet'];
const BROWSERS = ['Chrome 116.0.0', 'Safari 16.6', 'Firefox 117.0', 'Edge 116.0.1938', 'Samsung Internet 22.0'];
const OSES = ['Windows 10', 'Mac OS X 10.15.7', 'iOS 16.6', 'Android 13', 'Linux'];
const PATHS = [
  '/',
  '/checkout',
  '/cart',
  '/p/shoes-123?size=42&colour=red',
  '/search?q=t-shirt,blue',
  '/account/orders',
  '/de/kasse?utm_source=mail&utm_medium=x',
];
const TAGS_1 = ['', '', '', 'Positive', 'Negative'];
const TAGS_2 = ['', '', 'Pricing', 'Positive, Pricing', 'Bug, Checkout', 'Shipping'];
const TAGS_4 = ['', '', '', 'Praise', 'Design, Praise'];
const HEX = '0123456789abcdef';

/** Free text of about `min`–`max` chars: sentences, commas, quotes ("…" and “…”), line breaks, Unicode. */
function freeText(rnd: () => number, min: number, max: number): string {
  const target = min + Math.floor(rnd() * (max - min + 1));
  let s = '';
  let capital = true;
  while (s.length < target) {
    let w = WORDS[Math.floor(rnd() * WORDS.length)]!;
    if (capital) w = w.charAt(0).toUpperCase() + w.slice(1);
    capital = false;
    const q = rnd();
    if (q < 0.03) w = `"${w}"`;
    else if (q < 0.045) w = `“${w}”`;
    s += w;
    const p = rnd();
    if (p < 0.07) s += ', ';
    else if (p < 0.12) {
      s += '. ';
      capital = true;
    } else if (p < 0.14) {
      s += '!\n';
      capital = true;
    } else if (p < 0.155) {
      s += '\n\n';
      capital = true;
    } else s += ' ';
  }
  return s.trimEnd(); // may pass `max` by one word; never cuts a character in half
}

function hex(rnd: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[Math.floor(rnd() * 16)]!;
  return s;
}

function csvLine(fields: readonly string[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    if (i) line += ',';
    const f = fields[i]!;
    line += f.includes('"') ? `"${f.replace(/"/g, '""')}"` : `"${f}"`;
  }
  return line + '\n';
}

function fileDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** DOS date/time of a fixed moment (the value does not matter, only that it is valid). */
const DOS_TIME = (23 << 11) | (27 << 5) | (33 >> 1);
const DOS_DATE = ((2023 - 1980) << 9) | (9 << 5) | 27;
const FLAGS = 0x0008 | 0x0800; // data descriptor follows; UTF-8 name

function localHeader(name: Buffer): Buffer {
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(20, 4); // version needed
  b.writeUInt16LE(FLAGS, 6);
  b.writeUInt16LE(8, 8); // deflate
  b.writeUInt16LE(DOS_TIME, 10);
  b.writeUInt16LE(DOS_DATE, 12);
  // crc, sizes: 0, in the data descriptor
  b.writeUInt16LE(name.length, 26);
  b.writeUInt16LE(0, 28);
  return Buffer.concat([b, name]);
}

function trailer(name: Buffer, crc: number, csize: number, usize: number, localHeaderLength: number): Buffer {
  if (csize >= 0xffffffff || usize >= 0xffffffff)
    throw new Error(`export too large for a ZIP without zip64 (${usize} bytes); use fewer rows`);
  const dd = Buffer.alloc(16);
  dd.writeUInt32LE(0x08074b50, 0);
  dd.writeUInt32LE(crc >>> 0, 4);
  dd.writeUInt32LE(csize, 8);
  dd.writeUInt32LE(usize, 12);
  const cd = Buffer.alloc(46);
  cd.writeUInt32LE(0x02014b50, 0);
  cd.writeUInt16LE((3 << 8) | 20, 4); // made by: unix, 2.0
  cd.writeUInt16LE(20, 6);
  cd.writeUInt16LE(FLAGS, 8);
  cd.writeUInt16LE(8, 10);
  cd.writeUInt16LE(DOS_TIME, 12);
  cd.writeUInt16LE(DOS_DATE, 14);
  cd.writeUInt32LE(crc >>> 0, 16);
  cd.writeUInt32LE(csize, 20);
  cd.writeUInt32LE(usize, 24);
  cd.writeUInt16LE(name.length, 28);
  // extra, comment, disk, internal attrs: 0
  cd.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attrs: regular file rw-r--r--
  cd.writeUInt32LE(0, 42); // local header offset
  const cdOffset = localHeaderLength + csize + dd.length;
  const cdLength = cd.length + name.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(cdLength, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([dd, cd, name, eocd]);
}

async function writeWithBackpressure(ws: WriteStream | NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  if (!ws.write(chunk)) await once(ws as NodeJS.EventEmitter, 'drain');
}

/** The cached export of `rows` responses, generating it first if needed. */
export async function ensureExport(dir: string, rows: number, log: (m: string) => void = () => {}): Promise<ExportFiles> {
  mkdirSync(dir, { recursive: true });
  const csvPath = join(dir, `export-${rows}.csv`);
  const zipPath = join(dir, `export-${rows}.zip`);
  const metaPath = join(dir, `export-${rows}.json`);
  const base = { rows, csvPath, zipPath, surveyId: SURVEY_ID, siteId: SITE_ID };
  if (existsSync(metaPath) && existsSync(csvPath) && existsSync(zipPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Meta;
      if (
        meta.version === GEN_VERSION &&
        meta.rows === rows &&
        statSync(csvPath).size === meta.csvBytes &&
        statSync(zipPath).size === meta.zipBytes
      ) {
        return {
          ...base,
          csvBytes: meta.csvBytes,
          zipBytes: meta.zipBytes,
          newest: meta.newest,
          oldest: meta.oldest,
          generated: false,
          generateMs: 0,
        };
      }
    } catch {
      /* regenerate */
    }
  }

  log(`generating ${rows.toLocaleString('en')} responses → ${csvPath} + ${zipPath} …`);
  const t0 = performance.now();
  const csvTmp = `${csvPath}.tmp`;
  const zipTmp = `${zipPath}.tmp`;
  const csvOut = createWriteStream(csvTmp, { highWaterMark: 1 << 20 });
  const zipOut = createWriteStream(zipTmp, { highWaterMark: 1 << 20 });
  const name = Buffer.from(`hotjar_survey_response_export_a1b2c3d4_${SITE_ID}_${SURVEY_ID}_survey.csv`);
  const lh = localHeader(name);
  zipOut.write(lh);
  const deflate = createDeflateRaw({ level: 6, chunkSize: 256 * 1024 });
  let csize = 0;
  deflate.on('data', (c: Buffer) => {
    csize += c.length;
  });
  deflate.pipe(zipOut, { end: false });
  const deflateEnded = once(deflate, 'end');

  const rnd = prng(0x5eed + rows);
  let number = 2 * rows + 1000; // gaps average 0.3 per row: stays well above 0
  let ms = Date.UTC(2023, 8, 27, 23, 27, 33);
  let crc = 0;
  let usize = 0;
  let newest = '';
  let oldest = '';
  let pending = csvLine(HEADER);
  const flush = async (): Promise<void> => {
    const buf = Buffer.from(pending, 'utf8');
    pending = '';
    crc = crc32(buf, crc);
    usize += buf.length;
    await Promise.all([writeWithBackpressure(csvOut, buf), writeWithBackpressure(deflate, buf)]);
  };
  for (let i = 0; i < rows; i++) {
    const date = fileDate(ms);
    if (i === 0) newest = date;
    oldest = date;
    const id = hex(rnd, 32);
    const device = Math.floor(rnd() * DEVICES.length);
    pending += csvLine([
      String(number),
      id.slice(0, 8),
      date,
      COUNTRIES[Math.floor(rnd() * COUNTRIES.length)]!,
      `https://shop.example.com${PATHS[Math.floor(rnd() * PATHS.length)]!}`,
      DEVICES[device]!,
      BROWSERS[Math.floor(rnd() * BROWSERS.length)]!,
      OSES[Math.floor(rnd() * OSES.length)]!,
      id,
      rnd() < 0.4 ? '' : `u-${Math.floor(rnd() * 1e7)}`,
      String(1 + Math.floor(rnd() * 5)),
      TAGS_1[Math.floor(rnd() * TAGS_1.length)]!,
      freeText(rnd, 100, 600),
      TAGS_2[Math.floor(rnd() * TAGS_2.length)]!,
      String(Math.floor(rnd() * 11)),
      rnd() < 0.4 ? '' : freeText(rnd, 30, 300),
      TAGS_4[Math.floor(rnd() * TAGS_4.length)]!,
    ]);
    if (pending.length >= 1 << 20) await flush();
    number -= rnd() < 0.2 ? 2 + Math.floor(rnd() * 2) : 1; // gaps: deleted responses
    ms -= (1 + Math.floor(rnd() * 8)) * 1000; // strictly decreasing, a few seconds apart
  }
  if (pending.length) await flush();
  csvOut.end();
  deflate.end();
  const csvDone = finished(csvOut); // resolves once the file is closed, even if that happened already
  await deflateEnded;
  zipOut.end(trailer(name, crc, csize, usize, lh.length));
  await Promise.all([csvDone, finished(zipOut)]);
  renameSync(csvTmp, csvPath);
  renameSync(zipTmp, zipPath);
  const meta: Meta = { version: GEN_VERSION, rows, csvBytes: statSync(csvPath).size, zipBytes: statSync(zipPath).size, newest, oldest };
  if (meta.csvBytes !== usize) throw new Error(`CSV size mismatch: wrote ${usize}, file has ${meta.csvBytes}`);
  writeFileSync(metaPath, JSON.stringify(meta));
  return { ...base, csvBytes: meta.csvBytes, zipBytes: meta.zipBytes, newest, oldest, generated: true, generateMs: performance.now() - t0 };
}
