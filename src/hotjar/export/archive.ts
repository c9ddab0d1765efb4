/**
 * Streaming extraction of Hotjar's export archive: a ZIP holding one CSV file (a plain CSV is accepted
 * too). Bytes are inflated by Node's native zlib as they arrive, so the first rows are available while
 * the download is still running and memory stays flat however large the export.
 *
 * Why not a ZIP library: the streaming ones either inflate in JavaScript and find the end of entries
 * written with a data descriptor by scanning every byte for a signature (fflate), or pull in large
 * unmaintained dependency trees (unzipper, unzip-stream); yauzl needs the whole file on disk first. A
 * single-entry reader on top of zlib is ~150 lines and checks what matters: one entry only, the CRC-32
 * and size from the central directory, a bound on inflation (zip bombs), and truncation.
 */
import { createInflateRaw, crc32 } from 'node:zlib';
import { BrokenExportError, DamagedExportError, DataError, TransientError } from '../../core/errors.js';

/** An inflated CSV larger than this, or inflating at a ratio above MAX_RATIO, is refused as a zip bomb. */
export const MAX_INFLATED_BYTES = 16 * 1024 ** 3;
export const MAX_RATIO = 200;
const RATIO_CHECK_AFTER = 4 * 1024 * 1024;
/** Enough of the archive's end to hold the end-of-central-directory record and a one-entry directory. */
const TAIL_BYTES = 128 * 1024;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;

/** A broken archive: retrying the download from a fresh export may help (truncation, CRC). */
export class ArchiveError extends BrokenExportError {}

class ByteSource {
  private head: Buffer | undefined;
  private done = false;
  private tailChunks: Buffer[] = [];
  private tailSize = 0;
  keepTail = false;

  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  /** The next chunk, or undefined at the end. */
  async next(): Promise<Buffer | undefined> {
    if (this.head) {
      const h = this.head;
      this.head = undefined;
      return h;
    }
    if (this.done) return undefined;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return undefined;
    }
    const buf = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    if (this.keepTail) this.remember(buf);
    return buf;
  }

  unshift(buf: Buffer): void {
    if (buf.length) this.head = buf;
  }

  /** Exactly n bytes (fewer only at the end of the stream). */
  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const chunk = await this.next();
      if (!chunk) break;
      const take = Math.min(n - have, chunk.length);
      parts.push(chunk.subarray(0, take));
      have += take;
      if (take < chunk.length) this.unshift(chunk.subarray(take));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  tail(): Buffer {
    return Buffer.concat(this.tailChunks);
  }

  private remember(buf: Buffer): void {
    this.tailChunks.push(buf);
    this.tailSize += buf.length;
    while (this.tailChunks.length > 1 && this.tailSize - this.tailChunks[0]!.length >= TAIL_BYTES) {
      this.tailSize -= this.tailChunks.shift()!.length;
    }
  }

  async return(): Promise<void> {
    await this.it.return?.();
  }
}

/**
 * Yields the CSV bytes of an export body. `label` names the survey in errors.
 */
export async function* extractCsv(body: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<Buffer> {
  const src = new ByteSource(body[Symbol.asyncIterator]());
  try {
    src.keepTail = true;
    const magic = await src.read(4);
    if (magic.length < 4 || magic.readUInt32LE(0) !== SIG_LOCAL) {
      if (magic.length >= 2 && magic[0] === 0x50 && magic[1] === 0x4b) {
        throw new DataError(`The export of ${label} is a ZIP archive without any file in it. Check that the survey has responses.`);
      }
      // A plain CSV export. It has no checksum, but Hotjar quotes every field and ends the file with a
      // line break: a body that stops inside a quote or mid-line was cut short.
      src.keepTail = false;
      let quotes = 0;
      let last = -1;
      for (let chunk: Buffer | undefined = magic; chunk; chunk = await src.next()) {
        if (!chunk.length) continue;
        for (let i = chunk.indexOf(0x22); i !== -1; i = chunk.indexOf(0x22, i + 1)) quotes++;
        last = chunk[chunk.length - 1]!;
        yield chunk;
      }
      if (last !== -1 && (quotes % 2 === 1 || last !== 0x0a)) {
        throw new ArchiveError(`The export of ${label} (a plain CSV) ends ${quotes % 2 ? 'inside a quoted field' : 'in the middle of a line'}; the download was cut short.`);
      }
      return;
    }
    yield* extractZipEntry(src, magic, label);
  } finally {
    await src.return();
  }
}

async function* extractZipEntry(src: ByteSource, magic: Buffer, label: string): AsyncGenerator<Buffer> {
  const rest = await src.read(26);
  if (rest.length < 26) throw new ArchiveError(`The export of ${label} ended inside the ZIP header (truncated download).`);
  const header = Buffer.concat([magic, rest]);
  const flags = header.readUInt16LE(6);
  const method = header.readUInt16LE(8);
  const localSize = header.readUInt32LE(18);
  const localUncompressed = header.readUInt32LE(22);
  const nameLength = header.readUInt16LE(26);
  const extraLength = header.readUInt16LE(28);
  const nameAndExtra = await src.read(nameLength + extraLength);
  if (nameAndExtra.length < nameLength + extraLength) {
    throw new ArchiveError(`The export of ${label} ended inside the ZIP header (truncated download).`);
  }
  const name = nameAndExtra.subarray(0, nameLength).toString('utf8');
  if (flags & 1) throw new DataError(`The export of ${label} is an encrypted ZIP (${name}); it cannot be read.`);
  if (method !== 0 && method !== 8) {
    throw new DataError(`The export of ${label} uses ZIP compression method ${method}; only stored and deflate are supported.`);
  }
  const hasDescriptor = (flags & 8) !== 0;
  if (!hasDescriptor && localUncompressed !== 0xffffffff && localUncompressed > MAX_INFLATED_BYTES) {
    throw new DataError(`The export of ${label} declares ${localUncompressed} bytes uncompressed, over the ${MAX_INFLATED_BYTES}-byte limit.`);
  }

  let crc = 0;
  let inflated = 0;
  let compressedConsumed = 0;
  const account = (chunk: Buffer): void => {
    crc = crc32(chunk, crc);
    inflated += chunk.length;
    if (inflated > MAX_INFLATED_BYTES || (inflated > RATIO_CHECK_AFTER && inflated > MAX_RATIO * Math.max(compressedConsumed, 1))) {
      throw new DataError(
        `The export of ${label} inflates beyond a sane bound (${inflated} bytes from ${compressedConsumed} compressed): refusing a possible zip bomb.`,
      );
    }
  };

  if (method === 0) {
    if (hasDescriptor) throw new DataError(`The export of ${label} is a stored ZIP entry of unknown size; it cannot be streamed.`);
    let left = localSize;
    while (left > 0) {
      const chunk = await src.next();
      if (!chunk) throw new ArchiveError(`The export of ${label} ended before the end of its CSV (truncated download).`);
      const part = chunk.subarray(0, Math.min(left, chunk.length));
      if (part.length < chunk.length) src.unshift(chunk.subarray(part.length));
      left -= part.length;
      compressedConsumed += part.length;
      account(part);
      yield part;
    }
  } else {
    const inflate = createInflateRaw({ chunkSize: 64 * 1024 });
    let fedTotal = 0;
    let lastFed: Buffer[] = [];
    let ended = false;
    inflate.once('end', () => {
      ended = true;
    });
    const feeder = (async (): Promise<void> => {
      for (;;) {
        if (ended || inflate.destroyed) return;
        const chunk = await src.next();
        if (!chunk) {
          inflate.end();
          return;
        }
        fedTotal += chunk.length;
        lastFed.push(chunk);
        if (lastFed.length > 8) lastFed = lastFed.slice(-8);
        if (!inflate.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              inflate.off('drain', done);
              inflate.off('close', done);
              inflate.off('end', done);
              resolve();
            };
            inflate.on('drain', done);
            inflate.on('close', done);
            inflate.on('end', done);
          });
        }
      }
    })().catch((err: unknown) => {
      inflate.destroy(err instanceof Error ? err : new Error(String(err)));
    });
    try {
      for await (const chunk of inflate as AsyncIterable<Buffer>) {
        compressedConsumed = inflate.bytesWritten;
        account(chunk);
        yield chunk;
      }
    } catch (err) {
      if (err instanceof TransientError || err instanceof DataError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'Z_BUF_ERROR') {
        throw new ArchiveError(`The export of ${label} ended inside its compressed CSV (${(err as Error).message}); the download was cut short.`, { cause: err });
      }
      if (code.startsWith('Z_')) {
        throw new DamagedExportError(`The export of ${label} is a damaged ZIP (${(err as Error).message}).`, { cause: err });
      }
      throw err;
    } finally {
      if (!inflate.destroyed && !ended) inflate.destroy();
    }
    await feeder;
    // Whatever zlib did not consume belongs to what follows the entry: give it back to the source.
    const leftover = fedTotal - inflate.bytesWritten;
    if (leftover > 0) {
      const joined = Buffer.concat(lastFed);
      if (leftover > joined.length) {
        throw new DataError(`The export of ${label} holds more data after its CSV file; a Hotjar export holds exactly one CSV file.`);
      }
      src.unshift(joined.subarray(joined.length - leftover));
    }
  }
  // Read to the end: the central directory says how many entries there are and what the CSV's CRC is.
  while (await src.next()) {
    /* drain; ByteSource keeps the tail */
  }
  verifyCentralDirectory(src.tail(), { crc, inflated, name, label });
}

function verifyCentralDirectory(tail: Buffer, got: { crc: number; inflated: number; name: string; label: string }): void {
  let end = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_END) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new ArchiveError(`The export of ${got.label} is a truncated ZIP (no central directory); the download was cut short.`);
  const entries = tail.readUInt16LE(end + 10);
  if (entries !== 1 && entries !== 0xffff) {
    throw new DataError(`The export of ${got.label} is a ZIP holding ${entries} files; a Hotjar export holds exactly one CSV file.`);
  }
  const cdSize = tail.readUInt32LE(end + 12);
  const cd = end - cdSize;
  if (cd < 0 || tail.readUInt32LE(cd) !== SIG_CENTRAL) return; // zip64 or a long comment: nothing more to verify
  const crc = tail.readUInt32LE(cd + 16);
  const size = tail.readUInt32LE(cd + 24);
  if (crc !== got.crc >>> 0) {
    throw new DamagedExportError(`The export of ${got.label} failed its CRC check (file ${got.name}); the download was damaged.`);
  }
  if (size !== 0xffffffff && size !== got.inflated % 2 ** 32) {
    throw new DamagedExportError(`The export of ${got.label} has ${got.inflated} bytes where its ZIP says ${size}; the download was damaged.`);
  }
}
