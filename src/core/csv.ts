/**
 * The CSV rules shared by every parse of an export: the csv-parse options (one place, so the row
 * iterator, the block workers and the exact re-parse on errors agree byte for byte), and a scanner that
 * finds where records begin in a CSV file by quote parity, so that a verified file on local disk can
 * be parsed in independent, record-aligned blocks.
 *
 * Why quote parity finds record boundaries: with these options (strict quotes, `"` as quote and
 * escape, no comments, no trimming), every `"` csv-parse accepts either opens a quoted field, closes
 * it, or is one of the pair `""` inside it; anything else is an error. So, up to the first error, the
 * parser is inside a quoted field exactly when an odd number of quotes precede the current byte, and a
 * line feed after an even number of them ends a record. A block that starts there starts exactly as a
 * parser that read everything before it would be: at a record's first byte, outside quotes. Past the
 * first error, boundaries may be wrong, but a parse of the file never gets beyond its first error (the
 * block holding it reports it, and readers fall back to one parse of the whole file for the exact
 * message).
 */
import { isUtf8 } from 'node:buffer';
import type { Options } from 'csv-parse';

/** Least bytes of CSV per piece of the layout (a piece ends at the first record end past it). */
export const DEFAULT_BLOCK_BYTES = 128 * 1024;

/** The csv-parse options for an export, whoever parses it. */
export function csvParseOptions(maxRecordBytes: number): Options {
  return { bom: true, skip_empty_lines: true, max_record_size: maxRecordBytes };
}

/** Where the records of a CSV file lie: what a block parser needs. */
export interface CsvLayout {
  /** Bytes of the file. */
  bytes: number;
  /** Length of a leading UTF-8 byte order mark (0 or 3); csv-parse skips it. */
  bomBytes: number;
  /** Offset just after the header record's line end (the first data byte). */
  headerEnd: number;
  /** Block boundaries: [headerEnd, …, bytes]; each block is whole records. */
  boundaries: number[];
  /** Whether the whole file is valid UTF-8 (then cells may be handled as bytes; see block-worker.ts). */
  utf8: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BOM = [0xef, 0xbb, 0xbf];

/**
 * Scans a CSV file chunk by chunk, as it is written or read, for a CsvLayout. `finish()` returns
 * undefined when the file cannot be split (no header line end, a record delimiter other than LF or
 * CRLF): readers then parse it in one piece.
 */
export class CsvLayoutScanner {
  private offset = 0;
  private odd = false;
  private bom = 0;
  private bomChecked = false;
  private delimiter: 'LF' | 'CRLF' | 'CR' | undefined;
  private headerEnd = -1;
  private content = false; // the current record has a byte other than line ends (the header must)
  private previous = -1; // the byte before the current chunk
  private next = Number.POSITIVE_INFINITY; // the offset past which the next boundary is taken
  private readonly boundaries: number[] = [];
  private utf8 = true;
  private carry: Buffer | undefined; // an incomplete UTF-8 sequence at the end of the last chunk

  /** `blockBytes`: the least size of a block (the last may be smaller). */
  constructor(private readonly blockBytes: number) {}

  feed(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.utf8) this.checkUtf8(buf);
    let i = 0;
    if (!this.bomChecked) i = this.checkBom(buf);
    const n = buf.length;
    while (i < n && this.delimiter !== 'CR') {
      if (this.headerEnd < 0) {
        this.headerByte(buf, i++);
        continue;
      }
      // Between boundaries only the parity matters: count quotes a word at a time up to the point
      // where the next block may end, then look byte by byte for the record end that closes it.
      const target = this.next - this.offset;
      if (i < target) i = this.countQuotes(buf, i, Math.min(n, target));
      else this.boundaryByte(buf, i++);
    }
    if (n > 0) this.previous = buf[n - 1]!;
    this.offset += n;
  }

  finish(): CsvLayout | undefined {
    if (this.carry) this.utf8 = false; // ends inside a character
    if (this.headerEnd < 0 || (this.delimiter !== 'LF' && this.delimiter !== 'CRLF')) return undefined;
    const boundaries = [...this.boundaries];
    if (boundaries[boundaries.length - 1] !== this.offset) boundaries.push(this.offset);
    return { bytes: this.offset, bomBytes: this.bom, headerEnd: this.headerEnd, boundaries, utf8: this.utf8 };
  }

  private checkBom(buf: Buffer): number {
    // A BOM split over chunks is not expected (chunks are kilobytes); a first chunk under 3 bytes is
    // taken as it is (the file then has no BOM worth skipping, or is too short to split).
    this.bomChecked = true;
    if (this.offset === 0 && buf.length >= 3 && buf[0] === BOM[0] && buf[1] === BOM[1] && buf[2] === BOM[2]) {
      this.bom = 3;
      return 3;
    }
    return 0;
  }

  /** One byte of the header record (or of empty lines before it). */
  private headerByte(buf: Buffer, i: number): void {
    const c = buf[i]!;
    if (c === QUOTE) this.odd = !this.odd;
    if (this.odd || (c !== LF && c !== CR)) {
      this.content = true;
      return;
    }
    // An unquoted line end. The first one decides the record delimiter, as csv-parse's discovery does:
    // CRLF when a CR is followed by LF, else the character itself.
    if (this.delimiter === undefined) {
      if (c === LF) this.delimiter = 'LF';
      else if (i + 1 < buf.length) this.delimiter = buf[i + 1] === LF ? 'CRLF' : 'CR';
      else this.delimiter = 'CR'; // cannot look ahead across chunks here: this file is not split
    }
    if (this.delimiter === 'CR') return; // not split (finish says so); the scan stops here
    if (c === CR) {
      // A CR is a cell's character, except in CRLF files where it opens the line end.
      if (this.delimiter === 'LF' || (i + 1 < buf.length && buf[i + 1] !== LF)) this.content = true;
      return;
    }
    if (this.delimiter === 'CRLF' && this.before(buf, i) !== CR) {
      this.content = true;
      return;
    }
    if (!this.content) return; // an empty line before the header: csv-parse skips it
    this.headerEnd = this.offset + i + 1;
    this.boundaries.push(this.headerEnd);
    this.next = this.headerEnd + this.blockBytes;
  }

  /** One byte past a block's least size: the first record end closes the block. */
  private boundaryByte(buf: Buffer, i: number): void {
    const c = buf[i]!;
    if (c === QUOTE) {
      this.odd = !this.odd;
      return;
    }
    if (c !== LF || this.odd || this.delimiter === 'CR') return;
    if (this.delimiter === 'CRLF' && this.before(buf, i) !== CR) return;
    const at = this.offset + i + 1;
    this.boundaries.push(at);
    this.next = at + this.blockBytes;
  }

  private before(buf: Buffer, i: number): number {
    return i > 0 ? buf[i - 1]! : this.previous;
  }

  /** Flips the parity once per quote in buf[from, to); returns `to`. */
  private countQuotes(buf: Buffer, from: number, to: number): number {
    let i = from;
    let odd = this.odd ? 1 : 0;
    // Up to a four-byte boundary of the underlying memory, byte by byte.
    while (i < to && (buf.byteOffset + i) % 4 !== 0) {
      if (buf[i] === QUOTE) odd ^= 1;
      i++;
    }
    const words = (to - i) >> 2;
    if (words > 0) {
      const view = new Int32Array(buf.buffer, buf.byteOffset + i, words);
      for (let w = 0; w < words; w++) {
        // Bytes equal to `"` become zero; a zero byte is one whose high bit stays clear below.
        const x = view[w]! ^ 0x22222222;
        const zeros = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x) & 0x80808080;
        odd ^= Math.imul(zeros >>> 7, 0x01010101) >>> 24;
      }
      odd &= 1;
      i += words << 2;
    }
    while (i < to) {
      if (buf[i] === QUOTE) odd ^= 1;
      i++;
    }
    this.odd = (odd & 1) === 1;
    return to;
  }

  private checkUtf8(buf: Buffer): void {
    let start = 0;
    if (this.carry) {
      // Complete the character cut at the end of the last chunk.
      const need = utf8Length(this.carry[0]!) - this.carry.length;
      if (buf.length < need) {
        this.carry = Buffer.concat([this.carry, buf]);
        return;
      }
      if (!isUtf8(Buffer.concat([this.carry, buf.subarray(0, need)]))) this.utf8 = false;
      this.carry = undefined;
      start = need;
    }
    let end = buf.length;
    // Keep back a character cut by the end of this chunk.
    for (let k = 1; k <= 3 && end - k >= start; k++) {
      const b = buf[end - k]!;
      if (b < 0x80) break;
      if (b >= 0xc0) {
        if (utf8Length(b) > k) {
          this.carry = Buffer.from(buf.subarray(end - k));
          end -= k;
        }
        break;
      }
    }
    if (this.utf8 && !isUtf8(buf.subarray(start, end))) this.utf8 = false;
  }
}

/** Bytes of the UTF-8 sequence a lead byte opens (1 for anything that is not a lead byte: validation decides). */
function utf8Length(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}
