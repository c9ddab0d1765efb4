/**
 * Verified exports. A survey export is spooled to a temporary file, then checked completely before a
 * single byte of it is parsed, so that no record ever comes from unverified bytes:
 *
 *   - a ZIP (first bytes `PK\x03\x04`) must hold exactly one entry, stored or deflated, not encrypted,
 *     with every byte of the file accounted for (no second entry hidden before, after or inside it);
 *     the entry is inflated in full and its CRC-32 and size compared with the central directory's
 *     (zip64 included), under a bound on inflation (zip bombs);
 *   - a plain CSV has no checksum: it is accepted only when the transfer proved its own length and the
 *     file ends like a Hotjar CSV (a line feed, balanced quotes).
 *
 * `csvHead` is the exception, for `discover`: it inflates the start of a body still streaming in, where
 * only the header row is wanted.
 *
 * yauzl reads the ZIP structure (end records, zip64, the central directory, the local header); the data
 * is read with Node's fs and zlib. Memory stays flat: nothing larger than the 64 KiB tail (end record
 * and comment) or one chunk is held at once.
 *
 * With `csvPath`, the CSV a ZIP holds is also written there as it is inflated for its check, so it is
 * inflated once and can be read at any offset afterwards; and the CSV (from a ZIP or plain) is scanned
 * for where its records lie (core/csv.ts), so readers can parse it in blocks side by side. Both happen
 * on this thread while zlib inflates on libuv's pool. The spool then takes the CSV's size on disk.
 *
 * Errors (core/errors.ts), each naming the survey:
 *   BrokenExportError   the download was cut: truncated ZIP, missing directory, unproven end of a CSV
 *   DamagedExportError  it arrived whole but damaged: CRC, size, invalid deflate data, offsets that
 *                       contradict each other
 *   DataError           the file is unacceptable as it is: several or hidden entries, encryption, an
 *                       unknown method, an ambiguous end record, a zip bomb, an empty CSV
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { finished } from 'node:stream/promises';
import { crc32, createInflateRaw, type InflateRaw } from 'node:zlib';
import yauzl, { type Entry, type LocalFileHeader, type ZipFile } from 'yauzl';
import { CsvLayoutScanner, DEFAULT_BLOCK_BYTES, type CsvLayout } from '../../core/csv.js';
import { Reclaimer } from '../../core/gc.js';
import { BrokenExportError, ConnectorError, DamagedExportError, DataError, SystemError } from '../../core/errors.js';

export interface ExportLimits {
  /** Absolute bound on the inflated CSV (default 16 GiB). */
  maxInflatedBytes: number;
  /** Ratio bound inflated/compressed, checked only past maxInflatedBytes/64 or so; default 10_000 (real exports of repetitive text reach ~300:1 and must pass). */
  maxRatio: number;
}

export const DEFAULT_LIMITS: ExportLimits = Object.freeze({ maxInflatedBytes: 16 * 1024 ** 3, maxRatio: 10_000 });

export interface SpooledDownload {
  path: string; // the file on disk holding the whole body
  bytes: number; // its size
  /** true when the transfer proved its own end: a Content-Length, which the body matched */
  lengthProven: boolean;
}

export interface VerifiedExport {
  kind: 'zip' | 'csv';
  /** Size of the CSV in bytes (inflated). */
  csvBytes: number;
  /** Opens the verified CSV bytes as a fresh stream (inflating again for a ZIP without csvPath), for parsing. Can be called more than once. */
  open(): NodeJS.ReadableStream & AsyncIterable<Buffer>;
  /** With csvPath: the verified CSV on disk (the spool itself for a plain CSV), and where its records lie (undefined: it cannot be split). */
  csv?: { path: string; layout: CsvLayout | undefined } | undefined;
}

export interface VerifyOptions {
  /** Where to write the CSV of a ZIP while it is checked (see the module comment). */
  csvPath?: string | undefined;
  /** Least bytes per block for the layout scan. */
  blockBytes?: number | undefined;
}

const CHUNK = 64 * 1024;
/** Reading and inflating the spool in 1 MiB pieces: fewer round trips through libuv's pool (256 KiB took ~15% longer to check a 215 MB CSV; 2–4 MiB no better). */
const BIG_CHUNK = 1024 * 1024;
/** csvHead feeds zlib this much at a time, so one step's output stays a few MiB however repetitive. */
const SLICE = 4 * 1024;
const LF = 0x0a;
const QUOTE = 0x22;
const STORED = 0;
const DEFLATED = 8;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const U32_MAX = 0xffffffff;
const ZIP64_EXTRA = 0x0001;

const SIG_LOCAL = sig(0x04034b50);
const SIG_CENTRAL = sig(0x02014b50);
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;

const LOCAL_SIZE = 30;
const CENTRAL_SIZE = 46;
const END_SIZE = 22;
const END64_SIZE = 56;
const LOCATOR_SIZE = 20;
const MAX_COMMENT = 0xffff;
/** A data descriptor is 12 bytes, 16 with its signature, 20 or 24 with zip64 sizes: the four are distinct. */
const DESCRIPTOR_LENGTHS = new Set([12, 16, 20, 24]);

/** A four-byte little-endian signature, for Buffer.indexOf. */
function sig(value: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(value);
  return buf;
}

type ErrorClass = new (message: string, options?: { cause?: unknown }) => ConnectorError;

/** Every error starts "The export of <label>", so that the survey is always named. */
function problem(kind: ErrorClass, label: string, what: string, cause?: unknown): ConnectorError {
  return new kind(`The export of ${label} ${what}`, cause === undefined ? {} : { cause });
}

// ---------------------------------------------------------------------------------------------------
// verifyExport

/** Verifies a spooled export completely before anything is parsed. `label` is e.g. "survey 123" and must appear in every error message. */
export async function verifyExport(
  file: SpooledDownload,
  label: string,
  limits: ExportLimits = DEFAULT_LIMITS,
  options: VerifyOptions = {},
): Promise<VerifiedExport> {
  try {
    const fh = await openFile(file.path, 'r');
    try {
      return await verifyOpened(fh, file, label, limits, options);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof ConnectorError) throw err;
    // The spool file itself could not be read (disk, permissions): not the export's fault.
    throw problem(SystemError, label, `could not be read from its spool file (${(err as Error).message}).`, err);
  }
}

/** Sorts the file into empty, ZIP or plain CSV by its first bytes. */
async function verifyOpened(
  fh: FileHandle,
  file: SpooledDownload,
  label: string,
  limits: ExportLimits,
  options: VerifyOptions,
): Promise<VerifiedExport> {
  const { size } = await fh.stat();
  if (size !== file.bytes) {
    throw problem(
      BrokenExportError,
      label,
      `was received as ${file.bytes} bytes but its spool file holds ${size}; the download is incomplete.`,
    );
  }
  if (size === 0) throw problem(BrokenExportError, label, 'is an empty download (0 bytes); it was cut before any data arrived.');
  const magic = await readAt(fh, 0, 4);
  if (!startsWithPK(magic)) return verifyPlainCsv(file, label, options);
  checkLocalMagic(magic, label);
  return verifyZip(fh, file.path, size, label, limits, options);
}

function startsWithPK(magic: Buffer): boolean {
  return magic[0] === 0x50 && magic[1] === 0x4b;
}

/** `PK` must open a local file header: a file ending inside those four bytes was cut, any other is no export. */
function checkLocalMagic(magic: Buffer, label: string): void {
  if (magic.length === 4 && magic.equals(SIG_LOCAL)) return;
  if (magic.length < 4 && SIG_LOCAL.subarray(0, magic.length).equals(magic)) {
    throw problem(BrokenExportError, label, 'ended inside its first ZIP header; the download was cut short.');
  }
  throw problem(
    DataError,
    label,
    'starts like a ZIP archive ("PK") but not with a file header: it holds no file, or is not a Hotjar export.',
  );
}

// --- plain CSV

/** A plain CSV has no checksum: its end is proven by the transfer, and by how a Hotjar CSV ends. */
async function verifyPlainCsv(file: SpooledDownload, label: string, options: VerifyOptions): Promise<VerifiedExport> {
  if (!file.lengthProven) {
    throw problem(
      BrokenExportError,
      label,
      'is a plain CSV whose transfer did not prove its length (no Content-Length): the end of the export cannot be proven, so it may have been cut.',
    );
  }
  const scanner = options.csvPath === undefined ? undefined : new CsvLayoutScanner(options.blockBytes ?? DEFAULT_BLOCK_BYTES);
  const { quotes, last } = await scanCsv(file.path, scanner);
  // Hotjar quotes every field and ends the file with a line break.
  if (quotes % 2 === 1)
    throw problem(BrokenExportError, label, 'is a plain CSV that ends inside a quoted field; the download was cut short.');
  if (last !== LF) throw problem(BrokenExportError, label, 'is a plain CSV that ends in the middle of a line; the download was cut short.');
  return {
    kind: 'csv',
    csvBytes: file.bytes,
    open: () => createReadStream(file.path, { highWaterMark: BIG_CHUNK }),
    ...(scanner ? { csv: { path: file.path, layout: scanner.finish() } } : {}),
  };
}

/** Counts the double quotes of a file and finds its last byte, reading it in chunks (and feeds the layout scan). */
async function scanCsv(path: string, scanner: CsvLayoutScanner | undefined): Promise<{ quotes: number; last: number }> {
  let quotes = 0;
  let last = -1;
  for await (const chunk of createReadStream(path, { highWaterMark: BIG_CHUNK }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(QUOTE); i !== -1; i = chunk.indexOf(QUOTE, i + 1)) quotes++;
    scanner?.feed(chunk);
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  return { quotes, last };
}

// --- ZIP

/** Where the entry's compressed bytes lie in the spool file, and how to decode them. */
interface Span {
  path: string;
  start: number;
  length: number;
  method: number;
}

/**
 * The whole ZIP check. The layout must be, with nothing in between:
 * [local header][data][descriptor?] [central directory: 1 record] [zip64 end + locator?] [end record][comment]
 */
async function verifyZip(
  fh: FileHandle,
  path: string,
  size: number,
  label: string,
  limits: ExportLimits,
  options: VerifyOptions,
): Promise<VerifiedExport> {
  const end = await readEndRecords(fh, size, label);
  checkEntryCount(end.entries, label);
  await expectAdjacent(fh, end.cdOffset + end.cdSize, end.dirEnd, 'between its central directory and its end record', label);
  const zip = await openZip(path, label);
  try {
    const entry = await readOnlyEntry(zip, label);
    checkEntry(entry, label);
    await expectAdjacent(fh, end.cdOffset + recordLength(entry), end.cdOffset + end.cdSize, 'after its only directory record', label);
    const local = await readLocalHeader(zip, entry, label);
    checkLocalHeader(local, entry, label);
    checkBounds(entry.uncompressedSize, entry.compressedSize, limits, label, 'declares');
    await checkEntryEnd(fh, entry, local.fileDataStart, end.cdOffset, label);
    const span: Span = { path, start: local.fileDataStart, length: entry.compressedSize, method: entry.compressionMethod };
    const { csvPath } = options;
    const scanner = csvPath === undefined ? undefined : new CsvLayoutScanner(options.blockBytes ?? DEFAULT_BLOCK_BYTES);
    const csvBytes = await checkData(
      span,
      entry,
      limits,
      label,
      csvPath === undefined || !scanner ? undefined : { path: csvPath, scanner },
    );
    if (csvBytes === 0)
      throw problem(DataError, label, `is a ZIP archive that holds an empty CSV (${entry.fileName}, 0 bytes): not even a header row.`);
    if (csvPath === undefined || !scanner) return { kind: 'zip', csvBytes, open: () => openSpan(span) };
    return {
      kind: 'zip',
      csvBytes,
      open: () => createReadStream(csvPath, { highWaterMark: BIG_CHUNK }),
      csv: { path: csvPath, layout: scanner.finish() },
    };
  } finally {
    zip.close();
  }
}

/** The end records, as the directory's position, size and entry count, and where the directory must end. */
interface EndRecords {
  entries: number;
  cdOffset: number;
  cdSize: number;
  /** Where the central directory must end: at the zip64 end record, or at the end record. */
  dirEnd: number;
}

/** Reads the end record (and the zip64 end record it locates) from the file's tail. */
async function readEndRecords(fh: FileHandle, size: number, label: string): Promise<EndRecords> {
  const tailStart = Math.max(0, size - (LOCATOR_SIZE + END_SIZE + MAX_COMMENT));
  const tail = await readAt(fh, tailStart, size - tailStart);
  const at = findEndRecord(tail, label);
  const endAt = tailStart + at;
  // The tail holds LOCATOR_SIZE bytes more than the longest comment needs, so the locator is in it.
  const records =
    at >= LOCATOR_SIZE && tail.readUInt32LE(at - LOCATOR_SIZE) === SIG_LOCATOR64
      ? await readZip64End(fh, tail.subarray(at - LOCATOR_SIZE, at), endAt - LOCATOR_SIZE, size, label)
      : { entries: tail.readUInt16LE(at + 10), cdSize: tail.readUInt32LE(at + 12), cdOffset: tail.readUInt32LE(at + 16), dirEnd: endAt };
  if (records.cdOffset + records.cdSize > size) {
    throw problem(
      BrokenExportError,
      label,
      `is shorter (${size} bytes) than its ZIP directory says (${records.cdOffset + records.cdSize}); the download was cut short.`,
    );
  }
  return records;
}

/**
 * The end record is found as every reader finds it, searching back from the end of the file for one
 * whose comment length reaches exactly the end. Any other end signature after it (inside its comment)
 * makes the archive ambiguous: a coherent one would show readers another directory (yauzl would take
 * it), an incoherent one makes yauzl give up. Neither is in a Hotjar export, so both are refused.
 */
function findEndRecord(tail: Buffer, label: string): number {
  const signature = sig(SIG_END);
  let last = -1;
  let found = -1;
  const start = tail.length - END_SIZE; // (negative: too short for any end record, and lastIndexOf would count from the end)
  for (let i = start < 0 ? -1 : tail.lastIndexOf(signature, start); i !== -1; i = i > 0 ? tail.lastIndexOf(signature, i - 1) : -1) {
    if (last === -1) last = i;
    if (i + END_SIZE + tail.readUInt16LE(i + 20) !== tail.length) continue;
    if (found !== -1 || last !== i) {
      throw problem(
        DataError,
        label,
        'is a ZIP archive whose comment holds another end-of-directory signature: refusing an ambiguous archive.',
      );
    }
    found = i;
  }
  if (found === -1)
    throw problem(
      BrokenExportError,
      label,
      'is a ZIP archive without a valid end record (no central directory); the download was cut short.',
    );
  return found;
}

/** The zip64 end record, located by the 20-byte locator just before the end record. */
async function readZip64End(fh: FileHandle, locator: Buffer, locatorAt: number, size: number, label: string): Promise<EndRecords> {
  const recordAt = Number(locator.readBigUInt64LE(8));
  if (recordAt + END64_SIZE > size) {
    throw problem(BrokenExportError, label, 'is shorter than its zip64 end record says; the download was cut short.');
  }
  const record = await readAt(fh, recordAt, END64_SIZE);
  if (record.readUInt32LE(0) !== SIG_END64)
    throw problem(DamagedExportError, label, 'has no zip64 end record where its locator points; the download was damaged.');
  await expectAdjacent(fh, recordAt + 12 + Number(record.readBigUInt64LE(4)), locatorAt, 'between its zip64 end record and locator', label);
  return {
    entries: Number(record.readBigUInt64LE(32)),
    cdSize: Number(record.readBigUInt64LE(40)),
    cdOffset: Number(record.readBigUInt64LE(48)),
    dirEnd: recordAt,
  };
}

/** A Hotjar export holds exactly one CSV file. */
function checkEntryCount(entries: number, label: string): void {
  if (entries === 1) return;
  throw problem(DataError, label, `is a ZIP archive whose directory lists ${entries} files; a Hotjar export holds exactly one CSV file.`);
}

/**
 * Bytes [from, to) must not exist: nothing in the archive accounts for them. A ZIP header among them is a
 * hidden entry (DataError); anything else, like offsets that overlap, is damage.
 */
async function expectAdjacent(fh: FileHandle, from: number, to: number, where: string, label: string): Promise<void> {
  if (from === to) return;
  if (from > to)
    throw problem(DamagedExportError, label, `has ZIP structures that overlap ${where} (by ${from - to} bytes); the download was damaged.`);
  const hidden = await findHeader(fh, from, to);
  if (hidden !== undefined) {
    throw problem(DataError, label, `hides another ZIP header at byte ${hidden} (${where}); a Hotjar export holds exactly one CSV file.`);
  }
  throw problem(DamagedExportError, label, `has ${to - from} unexplained bytes ${where} (at byte ${from}); the download was damaged.`);
}

/** The position of the first local or central header signature in [from, to), read in chunks. */
async function findHeader(fh: FileHandle, from: number, to: number): Promise<number | undefined> {
  for (let at = from; at < to; at += CHUNK) {
    // 3 bytes more than the step, so that a signature across two chunks is seen.
    const buf = await readAt(fh, at, Math.min(CHUNK + 3, to - at));
    const hits = [buf.indexOf(SIG_LOCAL), buf.indexOf(SIG_CENTRAL)].filter((i) => i !== -1);
    if (hits.length > 0) return at + Math.min(...hits);
  }
  return undefined;
}

/** Opens the archive with yauzl, which parses the end records and the directory (zip64 included). */
function openZip(path: string, label: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) => {
      if (err) return reject(structureError(err, label));
      zip.on('error', () => {}); // each read below listens for its own errors
      resolve(zip);
    });
  });
}

/** The directory's one record, its zip64 extra field applied (sizes, offset). */
function readOnlyEntry(zip: ZipFile, label: string): Promise<Entry> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      zip.off('entry', onEntry);
      reject(structureError(err, label));
    };
    const onEntry = (entry: Entry): void => {
      zip.off('error', onError);
      resolve(entry);
    };
    zip.once('entry', onEntry);
    zip.once('error', onError);
    zip.readEntry();
  });
}

/** Only plain stored or deflated entries can be read. */
function checkEntry(entry: Entry, label: string): void {
  if (entry.isEncrypted()) throw problem(DataError, label, `is an encrypted ZIP archive (${entry.fileName}); it cannot be read.`);
  if (entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATED) {
    throw problem(
      DataError,
      label,
      `uses ZIP compression method ${entry.compressionMethod} (${entry.fileName}); only stored and deflate are supported.`,
    );
  }
}

/** The size of a central directory record. */
function recordLength(entry: Entry): number {
  return CENTRAL_SIZE + entry.fileNameLength + entry.extraFieldLength + entry.fileCommentLength;
}

function readLocalHeader(zip: ZipFile, entry: Entry, label: string): Promise<LocalFileHeader> {
  return zip.readLocalFileHeaderPromise(entry).catch((err: unknown) => {
    throw structureError(err as Error, label);
  });
}

/**
 * The entry must start the file (a header at byte 0 the directory does not point to is a hidden entry),
 * and its local header must agree with the directory, which streaming readers never see.
 */
function checkLocalHeader(local: LocalFileHeader, entry: Entry, label: string): void {
  if (entry.relativeOffsetOfLocalHeader !== 0) {
    throw problem(
      DataError,
      label,
      `lists a file whose header is at byte ${entry.relativeOffsetOfLocalHeader}, so the header at byte 0 is a hidden entry; a Hotjar export holds exactly one CSV file.`,
    );
  }
  const flags = FLAG_ENCRYPTED | FLAG_DESCRIPTOR;
  const same = (a: number, b: number): boolean => a === b || a === U32_MAX; // 0xffffffff: the value is in a zip64 field
  const streamed = (local.generalPurposeBitFlag & FLAG_DESCRIPTOR) !== 0; // CRC and sizes follow the data
  const agree =
    (local.generalPurposeBitFlag & flags) === (entry.generalPurposeBitFlag & flags) &&
    local.compressionMethod === entry.compressionMethod &&
    (streamed ||
      (local.crc32 === entry.crc32 &&
        same(local.compressedSize, entry.compressedSize) &&
        same(local.uncompressedSize, entry.uncompressedSize)));
  if (!agree)
    throw problem(
      DamagedExportError,
      label,
      `has a ZIP file header that contradicts its central directory (${entry.fileName}); the download was damaged.`,
    );
}

/** The entry's data, and its data descriptor if it has one, must end exactly where the directory starts. */
async function checkEntryEnd(fh: FileHandle, entry: Entry, dataStart: number, cdOffset: number, label: string): Promise<void> {
  const dataEnd = dataStart + entry.compressedSize;
  if (entry.generalPurposeBitFlag & FLAG_DESCRIPTOR) {
    const length = cdOffset - dataEnd;
    if (DESCRIPTOR_LENGTHS.has(length)) return checkDescriptor(await readAt(fh, dataEnd, length), entry, label);
    if (length === 0)
      throw problem(DamagedExportError, label, 'lacks the data descriptor its ZIP header announces; the download was damaged.');
  }
  await expectAdjacent(fh, dataEnd, cdOffset, 'between its CSV data and its central directory', label);
}

/** A data descriptor: [signature] CRC-32, compressed size, size; sizes of 8 bytes in a zip64 one. */
function checkDescriptor(buf: Buffer, entry: Entry, label: string): void {
  const signed = buf.length === 16 || buf.length === 24;
  const body = signed ? buf.subarray(4) : buf;
  const wide = body.length === 20;
  const crc = body.readUInt32LE(0);
  const compressed = wide ? Number(body.readBigUInt64LE(4)) : body.readUInt32LE(4);
  const inflated = wide ? Number(body.readBigUInt64LE(12)) : body.readUInt32LE(8);
  const agree =
    (!signed || buf.readUInt32LE(0) === SIG_DESCRIPTOR) &&
    crc === entry.crc32 &&
    compressed === entry.compressedSize &&
    inflated === entry.uncompressedSize;
  if (!agree)
    throw problem(
      DamagedExportError,
      label,
      `has a ZIP data descriptor that contradicts its central directory (${entry.fileName}); the download was damaged.`,
    );
}

/**
 * The zip-bomb guard: an absolute bound, and a bound on the ratio once past 1/64th of it (real exports
 * of repetitive answers reach ~300:1). Applied to what the directory declares, then to what inflates.
 */
function checkBounds(
  inflated: number,
  compressed: number,
  limits: ExportLimits,
  label: string,
  verb: 'declares' | 'inflates to at least',
): void {
  if (inflated > limits.maxInflatedBytes) {
    throw problem(
      DataError,
      label,
      `${verb} ${inflated} bytes of CSV, over the max_export_bytes limit of ${limits.maxInflatedBytes}: refusing a possible zip bomb (raise max_export_bytes if this export is genuine).`,
    );
  }
  if (inflated > limits.maxInflatedBytes / 64 && inflated > limits.maxRatio * Math.max(compressed, 1)) {
    throw problem(
      DataError,
      label,
      `${verb} ${inflated} bytes of CSV from ${compressed} compressed, over the max_export_ratio limit of ${limits.maxRatio}:1: refusing a possible zip bomb (raise max_export_ratio if this export is genuine).`,
    );
  }
}

/**
 * Inflates the whole entry: its CRC-32 and size must be the directory's, and it must use all its bytes.
 * With `copy`, the inflated bytes are also written to a file and scanned for their layout.
 */
async function checkData(
  span: Span,
  entry: Entry,
  limits: ExportLimits,
  label: string,
  copy?: { path: string; scanner: CsvLayoutScanner },
): Promise<number> {
  const stream = openSpan(span, copy ? BIG_CHUNK : CHUNK);
  const out = copy ? createWriteStream(copy.path, { highWaterMark: 1024 * 1024 }) : undefined;
  const outFailed = out ? once(out, 'error').then(([err]) => Promise.reject(writeError(err, copy!.path, label))) : undefined;
  outFailed?.catch(() => undefined);
  let crc = 0;
  let size = 0;
  const reclaimer = new Reclaimer();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      reclaimer.note(chunk.length);
      crc = crc32(chunk, crc);
      size += chunk.length;
      checkBounds(size, span.length, limits, label, 'inflates to at least');
      if (out && copy) {
        copy.scanner.feed(chunk);
        if (!out.write(chunk)) await Promise.race([once(out, 'drain'), outFailed]);
      }
    }
    if (out) await Promise.race([closeStream(out), outFailed]);
  } catch (err) {
    out?.destroy();
    throw inflateError(err, label);
  }
  if (crc !== entry.crc32 || size !== entry.uncompressedSize) {
    throw problem(
      DamagedExportError,
      label,
      `failed its integrity check: ${entry.fileName} gives ${size} bytes with CRC-32 ${hex(crc)} where the ZIP directory says ${entry.uncompressedSize} bytes with ${hex(entry.crc32)}; the download was damaged.`,
    );
  }
  const used = 'bytesWritten' in stream ? (stream as InflateRaw).bytesWritten : span.length;
  if (used < span.length) {
    throw problem(
      DataError,
      label,
      `holds ${span.length - used} bytes after the end of its compressed CSV, inside its ZIP entry; refusing what may be a hidden file.`,
    );
  }
  return size;
}

/**
 * The entry's CSV bytes as a stream: the raw span of the file, through raw inflate when deflated. Used
 * both to verify and to parse, so that what is parsed is read exactly as what was verified.
 */
function openSpan(span: Span, chunk = CHUNK): Readable {
  const raw =
    span.length === 0
      ? Readable.from([])
      : createReadStream(span.path, { start: span.start, end: span.start + span.length - 1, highWaterMark: chunk });
  if (span.method === STORED) return raw;
  const inflate = createInflateRaw({ chunkSize: chunk });
  // Errors reach the consumer through `inflate`; a consumer that stops early closes the file through it.
  pipeline(raw, inflate, () => {});
  return inflate;
}

/** zlib's errors in the export's terms: data that ends early is a cut download, the rest is damage. */
function inflateError(err: unknown, label: string): Error {
  if (err instanceof ConnectorError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = (err as Error).message;
  if (code === 'Z_BUF_ERROR')
    return problem(BrokenExportError, label, `ends inside its compressed CSV (${message}); the download was cut short.`, err);
  if (code.startsWith('Z_'))
    return problem(DamagedExportError, label, `holds invalid compressed data (${message}); the download was damaged.`, err);
  return err as Error;
}

/** Ends a write stream and waits until its file is closed. */
async function closeStream(out: WriteStream): Promise<void> {
  out.end();
  await finished(out);
}

/** The CSV copy could not be written: the machine's fault (a full disk), not the export's. */
function writeError(err: unknown, path: string, label: string): ConnectorError {
  return problem(
    SystemError,
    label,
    `could not be written to ${path} as it was checked (${(err as Error).message}); check the free space of the temporary folder.`,
    err,
  );
}

/** yauzl's plain errors in the export's terms. */
function structureError(err: Error, label: string): ConnectorError {
  const m = err.message;
  if (/unexpected EOF|overflows file bounds/.test(m))
    return problem(BrokenExportError, label, `is shorter than its ZIP directory says (${m}); the download was cut short.`, err);
  if (/encryption|multi-disk|fileName|absolute path|relative path/.test(m))
    return problem(DataError, label, `is a ZIP archive that cannot be accepted (${m}).`, err);
  return problem(DamagedExportError, label, `has an inconsistent ZIP structure (${m}); the download was damaged.`, err);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Up to `length` bytes at `position` (fewer at the end of the file). */
async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let have = 0;
  while (have < length) {
    const { bytesRead } = await fh.read(buf, have, length - have, position + have);
    if (bytesRead === 0) break;
    have += bytesRead;
  }
  return buf.subarray(0, have);
}

// ---------------------------------------------------------------------------------------------------
// csvHead

/** For `discover`: the CSV bytes at the start of an export body that is still streaming (no spool), inflated on the fly from the first local file header; the caller stops iterating once it has the header row. Plain CSV passes through. */
export async function* csvHead(body: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<Buffer> {
  const input = new ChunkReader(body[Symbol.asyncIterator]());
  try {
    const magic = await input.take(4);
    if (magic.length === 0) throw problem(BrokenExportError, label, 'is an empty download (0 bytes); it was cut before any data arrived.');
    if (!startsWithPK(magic)) {
      yield magic;
      yield* passThrough(input, undefined, label);
      return;
    }
    checkLocalMagic(magic, label);
    const entry = await readStreamedHeader(input, magic, label);
    if (entry.method === STORED) yield* passThrough(input, entry.compressedSize, label);
    else yield* inflateStream(passThrough(input, undefined, label), label);
  } finally {
    await input.close();
  }
}

/**
 * The local file header at the start of a streaming body: its method, and the stored size when the
 * header holds it (a streamed entry writes it after the data instead).
 */
async function readStreamedHeader(
  input: ChunkReader,
  magic: Buffer,
  label: string,
): Promise<{ method: number; compressedSize: number | undefined }> {
  const header = Buffer.concat([magic, await input.take(LOCAL_SIZE - magic.length)]);
  const cut = (): ConnectorError => problem(BrokenExportError, label, 'ended inside its first ZIP header; the download was cut short.');
  if (header.length < LOCAL_SIZE) throw cut();
  const nameLength = header.readUInt16LE(26);
  const extraLength = header.readUInt16LE(28);
  const names = await input.take(nameLength + extraLength);
  if (names.length < nameLength + extraLength) throw cut();
  const flags = header.readUInt16LE(6);
  const method = header.readUInt16LE(8);
  const name = names.subarray(0, nameLength).toString('utf8');
  if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION))
    throw problem(DataError, label, `is an encrypted ZIP archive (${name}); it cannot be read.`);
  if (method !== STORED && method !== DEFLATED) {
    throw problem(DataError, label, `uses ZIP compression method ${method} (${name}); only stored and deflate are supported.`);
  }
  return { method, compressedSize: localCompressedSize(header, names.subarray(nameLength)) };
}

/** The compressed size written in a local header (its zip64 extra field included), if it is written there. */
function localCompressedSize(header: Buffer, extra: Buffer): number | undefined {
  if (header.readUInt16LE(6) & FLAG_DESCRIPTOR) return undefined;
  const size = header.readUInt32LE(18);
  if (size !== U32_MAX) return size;
  try {
    // A zip64 extra field in a local header holds both sizes: inflated, then compressed.
    const zip64 = yauzl.parseExtraFields(extra).find((field) => field.id === ZIP64_EXTRA);
    return zip64 && zip64.data.length >= 16 ? Number(zip64.data.readBigUInt64LE(8)) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The rest of the body as it comes, `size` bytes of it when known (a stored entry; a body ending before
 * them was cut), else all of it: a stored entry of unknown length passes through to the end of the body,
 * ZIP records included, which a caller reading only the header row never reaches.
 */
async function* passThrough(input: ChunkReader, size: number | undefined, label: string): AsyncGenerator<Buffer> {
  let left = size ?? Infinity;
  while (left > 0) {
    const chunk = await input.next();
    if (!chunk) break;
    const part = chunk.subarray(0, left);
    if (part.length < chunk.length) input.unshift(chunk.subarray(part.length));
    left -= part.length;
    if (part.length > 0) yield part;
  }
  if (size !== undefined && left > 0) throw problem(BrokenExportError, label, 'ends inside its stored CSV; the download was cut short.');
}

/**
 * Inflates raw deflate data as it arrives, a slice at a time, yielding what each slice gives. Stops at
 * the end of the deflate stream (what follows is the rest of the ZIP), and destroys the inflater however
 * it ends, the consumer stopping included.
 */
async function* inflateStream(chunks: AsyncIterable<Buffer>, label: string): AsyncGenerator<Buffer> {
  const inflate = createInflateRaw({ chunkSize: CHUNK });
  const out: Buffer[] = [];
  inflate.on('data', (chunk: Buffer) => out.push(chunk));
  inflate.on('error', () => {}); // errors reach us through feed() and finished()
  let fed = 0;
  const complete = (): boolean => inflate.bytesWritten < fed; // zlib took no more: the deflate stream has ended
  try {
    for await (const chunk of chunks) {
      for (let at = 0; at < chunk.length && !complete(); at += SLICE) {
        const slice = chunk.subarray(at, at + SLICE);
        await feed(inflate, slice);
        fed += slice.length;
        yield* drain(out);
      }
      if (complete()) break;
    }
    if (!inflate.writableEnded) inflate.end();
    await finished(inflate, { writable: false });
    yield* drain(out);
  } catch (err) {
    throw inflateError(err, label);
  } finally {
    inflate.destroy();
  }
}

/** Writes one slice; resolves once zlib has consumed it and pushed its output (or fails with zlib's error). */
function feed(inflate: InflateRaw, slice: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    // zlib does not call the write callback when it fails, so its error event is watched too.
    const onError = (err: Error): void => reject(err);
    inflate.once('error', onError);
    inflate.write(slice, (err) => {
      inflate.off('error', onError);
      if (err) reject(err);
      else resolve();
    });
  });
}

function* drain(out: Buffer[]): Generator<Buffer> {
  for (let chunk = out.shift(); chunk; chunk = out.shift()) yield chunk;
}

/** Pulls exact byte counts off the chunks of a body. */
class ChunkReader {
  private pending: Buffer | undefined;

  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  /** The next chunk (what is left of the previous one first), or undefined at the end of the body. */
  async next(): Promise<Buffer | undefined> {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) return pending;
    const r = await this.it.next();
    if (r.done) return undefined;
    return Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
  }

  /** Puts back the unread end of the last chunk. */
  unshift(rest: Buffer): void {
    this.pending = rest;
  }

  /** Exactly n bytes, or fewer when the body ends first. */
  async take(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const chunk = await this.next();
      if (!chunk) break;
      const part = chunk.subarray(0, n - have);
      if (part.length < chunk.length) this.unshift(chunk.subarray(part.length));
      parts.push(part);
      have += part.length;
    }
    return Buffer.concat(parts);
  }

  /** Stops reading the body: its iterator's return() aborts a download still running. */
  async close(): Promise<void> {
    try {
      await this.it.return?.();
    } catch {
      // The body already failed; its error, if any, was thrown to the consumer.
    }
  }
}
