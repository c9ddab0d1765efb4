/**
 * The verified export (src/hotjar/export/export-file.ts) on real bytes: ZIPs built here byte by byte,
 * two zip64 archives written by Python (test/fixtures/zips/README.md), and plain CSVs. Each rule has a
 * test that fails without it; every error must name the survey.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokenExportError, DamagedExportError, DataError, SystemError, TransientError } from '../src/core/errors.js';
import { DEFAULT_LIMITS, csvHead, verifyExport, type ExportLimits, type SpooledDownload } from '../src/hotjar/export/export-file.js';

const LABEL = 'survey 123';
const FIXTURES = join(import.meta.dirname, 'fixtures', 'zips');
const FIXTURE_CSV =
  '"Number","Date Submitted","Question 1"\n"1","2024-01-02 03:04:05","Hello, world"\n"2","2024-01-03 03:04:05","Quote ""x"""\n';

/** A Hotjar-like CSV: every field quoted, a line feed after each row. */
function csvOf(rows: number, answer = (i: number): string => `Answer number ${i}, with "quotes" and, commas`): Buffer {
  const lines = ['"Number","Date Submitted","Question 1"'];
  for (let i = 1; i <= rows; i++) lines.push(`"${i}","2024-01-02 03:04:05","${answer(i).replaceAll('"', '""')}"`);
  return Buffer.from(lines.join('\n') + '\n');
}
const CSV = csvOf(20);

// ---------------------------------------------------------------------------------------------------
// ZIPs by hand

interface Part {
  csv: Buffer;
  name?: string;
  /** 8 deflate (default), 0 stored, or anything else. */
  method?: number;
  flags?: number;
  /** A streamed entry: CRC and sizes follow the data, in 12 bytes, or 16 with the signature. */
  descriptor?: 12 | 16;
  descriptorCrc?: number;
  /** The bytes written as the entry's data (default: the CSV, deflated or stored). */
  data?: Buffer;
  /** What the directory declares (default: the truth). */
  crc?: number;
  size?: number;
  /** The method in the local header (default: the directory's). */
  localMethod?: number;
}

interface Layout {
  /** Which parts the central directory lists (default: all). */
  listed?: number[];
  /** Bytes between the last entry and the central directory. */
  between?: Buffer;
  comment?: Buffer;
}

function descriptorOf(kind: 12 | 16 | undefined, crc: number, compressed: number, size: number): Buffer {
  if (!kind) return Buffer.alloc(0);
  const buf = Buffer.alloc(16);
  buf.writeUInt32LE(0x08074b50, 0);
  buf.writeUInt32LE(crc, 4);
  buf.writeUInt32LE(compressed, 8);
  buf.writeUInt32LE(size, 12);
  return kind === 16 ? buf : buf.subarray(4);
}

function buildZip(parts: Part[], layout: Layout = {}): Buffer {
  const body: Buffer[] = [];
  const records: Buffer[] = [];
  let offset = 0;
  parts.forEach((p, i) => {
    const method = p.method ?? 8;
    const data = p.data ?? (method === 0 ? p.csv : deflateRawSync(p.csv));
    const crc = p.crc ?? crc32(p.csv);
    const size = p.size ?? p.csv.length;
    const flags = (p.flags ?? 0) | (p.descriptor ? 8 : 0);
    const name = Buffer.from(p.name ?? `survey-${i}.csv`);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(p.localMethod ?? method, 8);
    if (!p.descriptor) {
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(data.length, 18);
      local.writeUInt32LE(size, 22);
    }
    local.writeUInt16LE(name.length, 26);
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(20, 4);
    record.writeUInt16LE(20, 6);
    record.writeUInt16LE(flags, 8);
    record.writeUInt16LE(method, 10);
    record.writeUInt32LE(crc, 16);
    record.writeUInt32LE(data.length, 20);
    record.writeUInt32LE(size, 24);
    record.writeUInt16LE(name.length, 28);
    record.writeUInt32LE(offset, 42);
    if ((layout.listed ?? parts.map((_, j) => j)).includes(i)) records.push(record, name);
    const entry = Buffer.concat([local, name, data, descriptorOf(p.descriptor, p.descriptorCrc ?? crc, data.length, size)]);
    body.push(entry);
    offset += entry.length;
  });
  const between = layout.between ?? Buffer.alloc(0);
  const cd = Buffer.concat(records);
  const comment = layout.comment ?? Buffer.alloc(0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length / 2, 8);
  end.writeUInt16LE(records.length / 2, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset + between.length, 16);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...body, between, cd, end, comment]);
}

/** Damages one byte. */
function flip(buf: Buffer, at: number, bits: number): void {
  buf.writeUInt8(buf.readUInt8(at) ^ bits, at);
}

/** The end record's position in an archive without a comment. */
const endOf = (zip: Buffer): number => zip.length - 22;

// ---------------------------------------------------------------------------------------------------
// Spooling and expectations

let dir = '';
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'export-file-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function spool(bytes: Buffer, lengthProven = false): Promise<SpooledDownload> {
  const path = join(dir, `download-${files++}`);
  await writeFile(path, bytes);
  return { path, bytes: bytes.length, lengthProven };
}

async function verify(bytes: Buffer, options: { lengthProven?: boolean; limits?: ExportLimits } = {}): ReturnType<typeof verifyExport> {
  return verifyExport(await spool(bytes, options.lengthProven ?? false), LABEL, options.limits);
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

/** Fails with exactly this class (not a subclass), a message matching `pattern`, naming the survey. */
async function expectFailure(promise: Promise<unknown>, kind: abstract new (...args: never[]) => Error, pattern: RegExp): Promise<Error> {
  const err = await failure(promise);
  expect(err.constructor, err.message).toBe(kind);
  expect(err.message).toMatch(pattern);
  expect(err.message).toContain(LABEL);
  return err;
}

async function readAll(stream: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------------
// verifyExport

describe('verifyExport accepts', () => {
  it('a deflated ZIP, and opens its CSV as often as asked', async () => {
    const verified = await verify(buildZip([{ csv: CSV }]));
    expect(verified).toMatchObject({ kind: 'zip', csvBytes: CSV.length });
    expect(await readAll(verified.open())).toEqual(CSV);
    expect(await readAll(verified.open())).toEqual(CSV);
  });

  it('a stored ZIP', async () => {
    const verified = await verify(buildZip([{ csv: CSV, method: 0 }]));
    expect(verified).toMatchObject({ kind: 'zip', csvBytes: CSV.length });
    expect(await readAll(verified.open())).toEqual(CSV);
  });

  it('streamed entries with a data descriptor, with and without its signature', async () => {
    for (const descriptor of [12, 16] as const) {
      const verified = await verify(buildZip([{ csv: CSV, descriptor }]));
      expect(await readAll(verified.open())).toEqual(CSV);
    }
  });

  it('genuine zip64 archives written by Python (directory extra fields, zip64 end records, zip64 descriptor)', async () => {
    for (const name of ['zip64.zip', 'zip64-streamed.zip']) {
      const verified = await verify(await readFile(join(FIXTURES, name)));
      expect(verified).toMatchObject({ kind: 'zip', csvBytes: FIXTURE_CSV.length });
      expect((await readAll(verified.open())).toString()).toBe(FIXTURE_CSV);
    }
  });

  it('a plain CSV whose transfer proved its length, ending with a line feed, quotes balanced', async () => {
    const verified = await verify(CSV, { lengthProven: true });
    expect(verified).toMatchObject({ kind: 'csv', csvBytes: CSV.length });
    expect(await readAll(verified.open())).toEqual(CSV);
    expect(await readAll(verified.open())).toEqual(CSV);
  });

  it('a realistic repetitive export (400 rows pasting the same 29 KB text, ~300:1) with the default limits', async () => {
    const sentence = 'Please fix the login page, it keeps timing out. ';
    const text = sentence.repeat(Math.ceil(29_000 / sentence.length)).slice(0, 29_000);
    const csv = csvOf(400, () => text);
    const zip = buildZip([{ csv }]);
    expect(csv.length / zip.length).toBeGreaterThan(250);
    expect((await verify(zip)).csvBytes).toBe(csv.length);
    expect(DEFAULT_LIMITS).toEqual({ maxInflatedBytes: 16 * 1024 ** 3, maxRatio: 10_000 });
  });
});

describe('verifyExport: exactly one entry', () => {
  const other = { csv: csvOf(3), name: 'other.csv' };

  it('refuses a directory listing two files', async () => {
    await expectFailure(verify(buildZip([{ csv: CSV }, other])), DataError, /lists 2 files.*exactly one CSV/);
  });

  it('refuses a second local header hidden between the entry and the directory (the end record says one entry)', async () => {
    await expectFailure(
      verify(buildZip([{ csv: CSV }, other], { listed: [0] })),
      DataError,
      /hides another ZIP header at byte \d+ \(between its CSV data/,
    );
  });

  it('refuses a directory pointing past a hidden entry at byte 0', async () => {
    await expectFailure(verify(buildZip([other, { csv: CSV }], { listed: [1] })), DataError, /header at byte 0 is a hidden entry/);
  });

  it('refuses a second directory record that the end record does not count', async () => {
    const zip = buildZip([{ csv: CSV }, other]);
    zip.writeUInt16LE(1, endOf(zip) + 8);
    zip.writeUInt16LE(1, endOf(zip) + 10);
    await expectFailure(verify(zip), DataError, /hides another ZIP header .*after its only directory record/);
  });

  it('refuses data left after the end of the deflate stream, inside the entry', async () => {
    const data = Buffer.concat([deflateRawSync(CSV), Buffer.from('PK\x03\x04 a hidden file')]);
    await expectFailure(verify(buildZip([{ csv: CSV, data }])), DataError, /bytes after the end of its compressed CSV/);
  });

  it('refuses an end signature inside the archive comment (yauzl would give up on it)', async () => {
    const zip = buildZip([{ csv: CSV }], { comment: Buffer.from('made by the PK\x05\x06 exporter, version 1.2.3 (build 456)', 'latin1') });
    await expectFailure(verify(zip), DataError, /comment holds another end-of-directory signature/);
  });

  it('accepts an end signature too close to the end of the comment to start a record (yauzl copes)', async () => {
    const zip = buildZip([{ csv: CSV }], { comment: Buffer.from('made by PK\x05\x06 exporter', 'latin1') });
    expect((await verify(zip)).csvBytes).toBe(CSV.length);
  });

  it('refuses a comment holding a coherent fake end record that lists only the first of two entries', async () => {
    const base = buildZip([{ csv: CSV }, other]);
    const cdAt = base.readUInt32LE(endOf(base) + 16);
    const firstRecord = base.subarray(cdAt, cdAt + 46 + base.readUInt16LE(cdAt + 28));
    const fakeEnd = Buffer.alloc(22);
    fakeEnd.writeUInt32LE(0x06054b50, 0);
    fakeEnd.writeUInt16LE(1, 8);
    fakeEnd.writeUInt16LE(1, 10);
    fakeEnd.writeUInt32LE(firstRecord.length, 12);
    fakeEnd.writeUInt32LE(base.length, 16);
    const comment = Buffer.concat([firstRecord, fakeEnd]);
    base.writeUInt16LE(comment.length, endOf(base) + 20);
    await expectFailure(verify(Buffer.concat([base, comment])), DataError, /ambiguous/);
  });

  it('calls unexplained bytes between the entry and the directory damage', async () => {
    await expectFailure(
      verify(buildZip([{ csv: CSV }], { between: Buffer.from('junk') })),
      DamagedExportError,
      /4 unexplained bytes between its CSV data/,
    );
  });

  it('refuses an encrypted entry and an unknown compression method', async () => {
    await expectFailure(verify(buildZip([{ csv: CSV, flags: 1 }])), DataError, /encrypted/);
    await expectFailure(verify(buildZip([{ csv: CSV, method: 12 }])), DataError, /compression method 12/);
  });
});

describe('verifyExport: CRC-32 and size from the central directory', () => {
  it('calls a CRC or size other than the directory says damage', async () => {
    await expectFailure(verify(buildZip([{ csv: CSV, crc: crc32(CSV) ^ 1 }])), DamagedExportError, /integrity check/);
    await expectFailure(verify(buildZip([{ csv: CSV, size: CSV.length + 1 }])), DamagedExportError, /integrity check/);
  });

  it('takes the sizes from the zip64 extra field of the directory', async () => {
    const zip = await readFile(join(FIXTURES, 'zip64.zip'));
    const cdAt = zip.indexOf(Buffer.from('PK\x01\x02', 'latin1'));
    const extraAt = cdAt + 46 + zip.readUInt16LE(cdAt + 28);
    expect(zip.readUInt16LE(extraAt)).toBe(1);
    expect(Number(zip.readBigUInt64LE(extraAt + 4))).toBe(FIXTURE_CSV.length);
    zip.writeBigUInt64LE(BigInt(FIXTURE_CSV.length + 1), extraAt + 4);
    await expectFailure(verify(zip), DamagedExportError, /121 bytes/);
  });

  it('calls a damaged byte damage, deflated or stored', async () => {
    const deflated = buildZip([{ csv: csvOf(200) }]);
    flip(deflated, deflated.length >> 1, 0x10);
    await expectFailure(verify(deflated), DamagedExportError, /damaged/);
    const stored = buildZip([{ csv: CSV, method: 0 }]);
    flip(stored, 100, 0x01);
    await expectFailure(verify(stored), DamagedExportError, /integrity check/);
  });

  it('calls invalid deflate data damage', async () => {
    await expectFailure(
      verify(buildZip([{ csv: CSV, data: Buffer.from([0xff, 0xff, 0xff, 0xff]) }])),
      DamagedExportError,
      /invalid compressed data/,
    );
  });

  it('calls a data descriptor or local header that contradicts the directory damage', async () => {
    await expectFailure(
      verify(buildZip([{ csv: CSV, descriptor: 16, descriptorCrc: 7 }])),
      DamagedExportError,
      /data descriptor that contradicts/,
    );
    await expectFailure(verify(buildZip([{ csv: CSV, flags: 8 }])), DamagedExportError, /lacks the data descriptor/);
    await expectFailure(verify(buildZip([{ csv: CSV, localMethod: 0 }])), DamagedExportError, /file header that contradicts/);
  });
});

describe('verifyExport: a cut download is a BrokenExportError', () => {
  it('at any point of the archive', async () => {
    const zip = buildZip([{ csv: csvOf(30), descriptor: 16 }]);
    const cuts = [1, 2, 3, 4, 20, 40, zip.length - 23, zip.length - 22, zip.length - 21, zip.length - 1];
    for (let at = 50; at < zip.length; at += Math.ceil(zip.length / 20)) cuts.push(at);
    for (const at of cuts) {
      const err = await failure(verify(zip.subarray(0, at)));
      expect(err.constructor, `cut at ${at}: ${err.message}`).toBe(BrokenExportError);
      expect(err.message).toContain(LABEL);
    }
  });

  it('when the file is too short to hold an end record, whatever it holds', async () => {
    const short = Buffer.concat([Buffer.from('PK\x03\x04PK\x05\x06', 'latin1'), Buffer.alloc(13)]); // 21 bytes
    await expectFailure(verify(short), BrokenExportError, /without a valid end record/);
  });

  it('when the directory is missing', async () => {
    const zip = buildZip([{ csv: CSV }]);
    await expectFailure(verify(zip.subarray(0, zip.readUInt32LE(endOf(zip) + 16))), BrokenExportError, /without a valid end record/);
  });

  it('when the file is shorter than its directory says', async () => {
    const zip = buildZip([{ csv: CSV }]);
    zip.writeUInt32LE(zip.length, endOf(zip) + 16);
    await expectFailure(verify(zip), BrokenExportError, /shorter .* than its ZIP directory says/);
    const sized = buildZip([{ csv: CSV }]);
    const cdAt = sized.readUInt32LE(endOf(sized) + 16);
    sized.writeUInt32LE(100_000, cdAt + 20);
    await expectFailure(verify(sized), BrokenExportError, /overflows file bounds/);
  });

  it('when the compressed data ends early', async () => {
    const data = deflateRawSync(CSV);
    await expectFailure(
      verify(buildZip([{ csv: CSV, data: data.subarray(0, data.length - 4) }])),
      BrokenExportError,
      /ends inside its compressed CSV/,
    );
  });
});

describe('verifyExport: zip-bomb guard', () => {
  const small: ExportLimits = { maxInflatedBytes: 1_000_000, maxRatio: 10_000 };
  const strict: ExportLimits = { maxInflatedBytes: 64 * 1024 * 1024, maxRatio: 100 }; // ratio checked past 1 MiB
  const zeros = (n: number): Buffer => Buffer.alloc(n, 0x30);

  it('refuses a declared size over max_export_bytes', async () => {
    await expectFailure(
      verify(buildZip([{ csv: CSV, size: 2_000_000 }]), { limits: small }),
      DataError,
      /declares 2000000 bytes .*max_export_bytes limit of 1000000/,
    );
  });

  it('refuses inflating past max_export_bytes even when the directory understates the size', async () => {
    await expectFailure(
      verify(buildZip([{ csv: zeros(2_000_000), size: 100 }]), { limits: small }),
      DataError,
      /inflates to at least \d+ bytes .*max_export_bytes/,
    );
  });

  it('refuses a declared ratio over max_export_ratio', async () => {
    await expectFailure(
      verify(buildZip([{ csv: CSV, size: 2_000_000 }]), { limits: strict }),
      DataError,
      /declares .*max_export_ratio limit of 100:1/,
    );
  });

  it('refuses inflating past max_export_ratio even when the directory understates the size', async () => {
    await expectFailure(
      verify(buildZip([{ csv: zeros(2 * 1024 * 1024), size: 100 }]), { limits: strict }),
      DataError,
      /inflates to at least .*max_export_ratio/,
    );
  });

  it('checks the ratio only past 1/64th of max_export_bytes', async () => {
    const csv = zeros(512 * 1024);
    expect((await verify(buildZip([{ csv }]), { limits: strict })).csvBytes).toBe(csv.length);
  });
});

describe('verifyExport: plain CSV, empty and odd files', () => {
  it('refuses a plain CSV whose transfer did not prove its length', async () => {
    await expectFailure(verify(CSV, { lengthProven: false }), BrokenExportError, /end of the export cannot be proven/);
  });

  it('refuses a plain CSV ending mid-line or inside a quoted field', async () => {
    await expectFailure(verify(CSV.subarray(0, CSV.length - 1), { lengthProven: true }), BrokenExportError, /middle of a line/);
    await expectFailure(verify(Buffer.from('"a","b\n'), { lengthProven: true }), BrokenExportError, /inside a quoted field/);
  });

  it('refuses an empty download', async () => {
    await expectFailure(verify(Buffer.alloc(0), { lengthProven: true }), BrokenExportError, /empty download/);
  });

  it('refuses a ZIP holding an empty CSV', async () => {
    await expectFailure(verify(buildZip([{ csv: Buffer.alloc(0) }])), DataError, /holds an empty CSV/);
  });

  it('refuses PK without a local header; a file cut inside the signature is broken', async () => {
    const empty = Buffer.alloc(22);
    empty.writeUInt32LE(0x06054b50, 0);
    await expectFailure(verify(empty), DataError, /not with a file header/);
    await expectFailure(verify(Buffer.from('PK\x03', 'latin1')), BrokenExportError, /ended inside its first ZIP header/);
  });

  it('refuses a spool file of another size than was received, and names the survey when the file is unreadable', async () => {
    const file = await spool(CSV, true);
    await expectFailure(verifyExport({ ...file, bytes: CSV.length + 1 }, LABEL), BrokenExportError, /download is incomplete/);
    await expectFailure(verifyExport({ path: join(dir, 'missing'), bytes: 1, lengthProven: true }, LABEL), SystemError, /spool file/);
  });
});

// ---------------------------------------------------------------------------------------------------
// csvHead

/** A body in chunks of `size` bytes, with a record of how far it was read and whether it was closed. */
function body(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> & { state: { pulled: number; closed: boolean } } {
  const state = { pulled: 0, closed: false };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for (let at = 0; at < bytes.length; at += size) {
        state.pulled++;
        yield new Uint8Array(bytes.subarray(at, at + size));
      }
    } finally {
      state.closed = true;
    }
  }
  return Object.assign(chunks(), { state });
}

describe('csvHead', () => {
  it('inflates a ZIP body fed in small chunks, and stops reading at the end of the deflate stream', async () => {
    const zip = buildZip([{ csv: CSV }]);
    const input = body(zip, 7);
    expect(await readAll(csvHead(input, LABEL))).toEqual(CSV);
    expect(input.state.closed).toBe(true);
    expect(input.state.pulled).toBeLessThan(Math.ceil(zip.length / 7));
  });

  it('abandons cleanly when the consumer stops after the first chunk', async () => {
    const csv = csvOf(20_000, (i) => `answer ${i * 7919}`);
    const zip = buildZip([{ csv }]);
    const input = body(zip, 1000);
    let first: Buffer | undefined;
    for await (const chunk of csvHead(input, LABEL)) {
      first = chunk;
      break;
    }
    expect(csv.subarray(0, first!.length)).toEqual(first);
    expect(input.state.closed).toBe(true);
    expect(input.state.pulled).toBeLessThan(10);
  });

  it('passes stored data through up to its size, and reads zip64 and streamed headers', async () => {
    expect(await readAll(csvHead(body(buildZip([{ csv: CSV, method: 0 }]), 5), LABEL))).toEqual(CSV);
    for (const name of ['zip64.zip', 'zip64-streamed.zip']) {
      expect((await readAll(csvHead(body(await readFile(join(FIXTURES, name)), 3), LABEL))).toString()).toBe(FIXTURE_CSV);
    }
  });

  it('passes a plain CSV through', async () => {
    expect(await readAll(csvHead(body(CSV, 5), LABEL))).toEqual(CSV);
  });

  it('refuses encrypted entries, unknown methods and PK without a local header', async () => {
    await expectFailure(readAll(csvHead(body(buildZip([{ csv: CSV, flags: 1 }]), 9), LABEL)), DataError, /encrypted/);
    await expectFailure(readAll(csvHead(body(buildZip([{ csv: CSV, method: 12 }]), 9), LABEL)), DataError, /compression method 12/);
    await expectFailure(readAll(csvHead(body(Buffer.from('PK\x05\x06', 'latin1'), 9), LABEL)), DataError, /not with a file header/);
  });

  it('reports cut and damaged bodies', async () => {
    const zip = buildZip([{ csv: CSV }]);
    await expectFailure(readAll(csvHead(body(Buffer.alloc(0), 9), LABEL)), BrokenExportError, /empty download/);
    await expectFailure(readAll(csvHead(body(zip.subarray(0, 20), 9), LABEL)), BrokenExportError, /inside its first ZIP header/);
    await expectFailure(readAll(csvHead(body(zip.subarray(0, 60), 9), LABEL)), BrokenExportError, /ends inside its compressed CSV/);
    await expectFailure(
      readAll(csvHead(body(buildZip([{ csv: CSV, method: 0 }]).subarray(0, 80), 9), LABEL)),
      BrokenExportError,
      /inside its stored CSV/,
    );
    const bad = buildZip([{ csv: CSV, data: Buffer.from([0xff, 0xff, 0xff, 0xff]) }]);
    await expectFailure(readAll(csvHead(body(bad, 9), LABEL)), DamagedExportError, /invalid compressed data/);
  });

  it("passes the body's own errors through unchanged", async () => {
    const lost = new TransientError('connection reset');
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield buildZip([{ csv: CSV }]).subarray(0, 50);
      throw lost;
    }
    expect(await failure(readAll(csvHead(failing(), LABEL)))).toBe(lost);
  });
});
