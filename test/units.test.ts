/**
 * The pure decisions, tested directly: cursors, state, retry policy, secret masking, the seen-set,
 * and the streaming archive reader on real ZIP bytes (stored, deflated, with data descriptors).
 */
import { PassThrough, Writable } from 'node:stream';
import { Zip, ZipDeflate, zipSync, strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { extractCsv } from '../src/hotjar/archive.js';
import { HttpStatusError, isRetryable, parseRetryAfter, redactUrl } from '../src/hotjar/retry-policy.js';
import { addSecret, clearSecrets, mask } from '../src/protocol/secrets.js';
import { Writer } from '../src/protocol/writer.js';
import { fileDateToCursor, maxCursor, toCursor } from '../src/stream/cursor.js';
import { SeenNumbers } from '../src/stream/seen-numbers.js';
import { advance, materialise, parseState, startingCursor, toStreamState } from '../src/stream/state.js';

const S = 'survey_responses';

describe('cursor', () => {
  it('normalises dates, date-times and zones to UTC cursor form', () => {
    expect(toCursor('2024-01-31')).toBe('2024-01-31T00:00:00');
    expect(toCursor('2024-01-31 12:34:56')).toBe('2024-01-31T12:34:56');
    expect(toCursor('2024-01-31T12:34:56.789Z')).toBe('2024-01-31T12:34:56');
    expect(toCursor('2024-01-31T12:00:00+02:00')).toBe('2024-01-31T10:00:00');
    expect(toCursor('2024-01-31T12:00+0130')).toBe('2024-01-31T10:30:00');
    for (const bad of ['2024-02-30', '2024-13-01', 'yesterday', '', 42, '2024-01-31T25:00:00']) expect(toCursor(bad)).toBeUndefined();
  });
  it('reads the file format only', () => {
    expect(fileDateToCursor('2023-09-27 23:27:33')).toBe('2023-09-27T23:27:33');
    expect(fileDateToCursor('2023-09-27T23:27:33')).toBe('2023-09-27T23:27:33');
    expect(fileDateToCursor('27/09/2023 23:27')).toBeUndefined();
    expect(fileDateToCursor('2023-09-31 00:00:00')).toBeUndefined();
  });
  it('max treats undefined as no cursor', () => {
    expect(maxCursor(undefined, 'a')).toBe('a');
    expect(maxCursor('2024-01-02T00:00:00', '2024-01-01T00:00:00')).toBe('2024-01-02T00:00:00');
  });
});

describe('state', () => {
  const blob = { surveys: { '1': { 'Date Submitted': '2024-01-01T00:00:00' } } };
  const msg = { type: 'STREAM', stream: { stream_descriptor: { name: S }, stream_state: blob } };
  it('accepts every documented shape', () => {
    const want = { surveys: { '1': '2024-01-01T00:00:00' } };
    expect(parseState([msg], S)).toEqual(want);
    expect(parseState([{ type: 'STATE', state: msg }], S)).toEqual(want);
    expect(parseState(msg, S)).toEqual(want);
    expect(parseState({ [S]: blob }, S)).toEqual(want);
    expect(parseState(blob, S)).toEqual(want);
    expect(parseState([{ type: 'GLOBAL', global: { stream_states: [{ stream_descriptor: { name: S }, stream_state: blob }] } }], S)).toEqual(want);
    expect(parseState([{ type: 'LEGACY', data: { [S]: blob } }], S)).toEqual(want);
    expect(parseState(undefined, S)).toEqual({ surveys: {} });
    expect(parseState([], S)).toEqual({ surveys: {} });
    expect(parseState([{ type: 'STREAM', stream: { stream_descriptor: { name: 'other' }, stream_state: blob } }], S)).toEqual({ surveys: {} });
  });
  it('a hand-written cursor applies to every survey without one', () => {
    const c = parseState({ 'Date Submitted': '2024-05-01 10:00:00' }, S);
    expect(c.fallback).toBe('2024-05-01T10:00:00');
    expect(startingCursor(c, '9', undefined)).toBe('2024-05-01T10:00:00');
    expect(materialise(c, ['1', '2']).surveys).toEqual({ '1': '2024-05-01T10:00:00', '2': '2024-05-01T10:00:00' });
  });
  it('rejects what is not a state, saying how to fix it', () => {
    expect(() => parseState('x', S)).toThrow(/array or object/);
    expect(() => parseState([{ type: 'WHAT' }], S)).toThrow(/unknown state type/);
    expect(() => parseState({ surveys: { '1': { 'Date Submitted': 'soon' } } }, S)).toThrow(/not a date-time/);
  });
  it('start is the later of cursor and start date; cursors never move backwards', () => {
    const c = { surveys: { '1': '2024-01-05T00:00:00' } };
    expect(startingCursor(c, '1', '2024-01-01T00:00:00')).toBe('2024-01-05T00:00:00');
    expect(startingCursor(c, '1', '2024-02-01T00:00:00')).toBe('2024-02-01T00:00:00');
    expect(advance(c, '1', '2024-01-01T00:00:00')).toBe(c);
    expect(advance(c, '1', undefined)).toBe(c);
    expect(advance(c, '1', '2024-01-06T00:00:00').surveys['1']).toBe('2024-01-06T00:00:00');
    expect(toStreamState(advance(c, '2', '2024-01-01T00:00:00'))).toEqual({
      surveys: { '1': { 'Date Submitted': '2024-01-05T00:00:00' }, '2': { 'Date Submitted': '2024-01-01T00:00:00' } },
    });
  });
});

describe('retry policy', () => {
  const http = (status: number): HttpStatusError => new HttpStatusError(status, '', 'u', '', undefined);
  it('retries what may pass, not what will not change', () => {
    for (const s of [408, 429, 500, 502, 503, 504]) expect(isRetryable(http(s))).toBe(true);
    for (const s of [400, 401, 403, 404, 422]) expect(isRetryable(http(s))).toBe(false);
    expect(isRetryable(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryable(new Error('x', { cause: Object.assign(new Error('y'), { code: 'EAI_AGAIN' }) }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }))).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('1.5')).toBe(1500);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter(new Date(1_000).toUTCString(), 4_000)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
  it('redacts query strings (pre-signed URLs carry tokens there)', () => {
    expect(redactUrl('https://s3.example.com/a/b.zip?X-Amz-Signature=abc')).toBe('https://s3.example.com/a/b.zip');
  });
});

describe('secrets', () => {
  it('masks registered values in every form they may be printed in', () => {
    clearSecrets();
    addSecret('p@ss "word"/ü');
    addSecret('1'); // too short to mask safely
    expect(mask('x p@ss "word"/ü y')).toBe('x ********** y');
    expect(mask(JSON.stringify({ p: 'p@ss "word"/ü' }))).toBe('{"p":"**********"}');
    expect(mask(`?q=${encodeURIComponent('p@ss "word"/ü')}`)).toBe('?q=**********');
    expect(mask('1 2 3')).toBe('1 2 3');
    clearSecrets();
  });
});

describe('seen numbers', () => {
  it('remembers small and huge numbers', () => {
    const s = new SeenNumbers();
    for (const n of [0, 7, 8, 100_000, 5_000_000, 2 ** 40]) {
      expect(s.has(n)).toBe(false);
      s.add(n);
      expect(s.has(n)).toBe(true);
    }
    expect(s.has(9)).toBe(false);
  });
});

describe('archive', () => {
  const csv = '"Number","Date Submitted"\n' + Array.from({ length: 5000 }, (_, i) => `"${i}","2024-01-01 00:00:00"\n`).join('');
  async function collect(bytes: Uint8Array, chunk = 777): Promise<string> {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
    }
    const parts: Buffer[] = [];
    for await (const part of extractCsv(chunks(), 'survey 1')) parts.push(part);
    return Buffer.concat(parts).toString('utf8');
  }
  function streamedZip(text: string): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const parts: Uint8Array[] = [];
      const zip = new Zip((err, data, final) => {
        if (err) return reject(err);
        parts.push(data);
        if (final) resolve(Buffer.concat(parts));
      });
      const entry = new ZipDeflate('export.csv', { level: 6 });
      zip.add(entry);
      entry.push(strToU8(text), true);
      zip.end();
    });
  }

  it('reads deflated, stored and data-descriptor entries, and plain CSV', async () => {
    expect(await collect(zipSync({ 'a.csv': strToU8(csv) }))).toBe(csv);
    expect(await collect(zipSync({ 'a.csv': strToU8(csv) }, { level: 0 }))).toBe(csv);
    expect(await collect(await streamedZip(csv), 100)).toBe(csv);
    expect(await collect(Buffer.from(csv))).toBe(csv);
    expect(await collect(Buffer.from(''))).toBe('');
  });

  it('detects truncation, CRC errors and extra entries', async () => {
    const zip = Buffer.from(zipSync({ 'a.csv': strToU8(csv) }));
    await expect(collect(zip.subarray(0, zip.length - 30))).rejects.toThrow(/truncated|damaged|cut short/);
    await expect(collect(zip.subarray(0, 20))).rejects.toThrow(/truncated/);
    const bad = Buffer.from(zip);
    bad.writeUInt32LE((bad.readUInt32LE(14) ^ 1) >>> 0, 14); // local CRC unused; flip the central one
    const cd = bad.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bad.writeUInt32LE((bad.readUInt32LE(cd + 16) ^ 1) >>> 0, cd + 16);
    await expect(collect(bad)).rejects.toThrow(/CRC/);
    await expect(collect(zipSync({ 'a.csv': strToU8(csv), 'b.csv': strToU8(csv) }))).rejects.toThrow(/(2 files|more data after)/);
  });
});

describe('writer', () => {
  it('asks producers to wait while the reader is slow, and keeps whole lines', async () => {
    const received: string[] = [];
    let release: () => void = () => undefined;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        received.push(chunk.toString());
        release = cb;
      },
    });
    const w = new Writer(slow);
    let waited = 0;
    for (let i = 0; i < 50; i++) {
      const p = w.write({ type: 'LOG', log: { level: 'INFO', message: 'x'.repeat(4000) } });
      if (p) {
        waited++;
        setImmediate(() => release());
        await p;
      }
    }
    const done = w.end();
    const pump = setInterval(() => release(), 1);
    await done;
    clearInterval(pump);
    expect(waited).toBeGreaterThan(0);
    const text = received.join('');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n').filter(Boolean).every((l) => JSON.parse(l) !== undefined)).toBe(true);
    expect(text.split('\n').filter(Boolean)).toHaveLength(50);
  });

  it('reports a closed reader once', async () => {
    const out = new PassThrough();
    let closed = 0;
    const w = new Writer(out, { onClosed: () => closed++ });
    out.destroy();
    w.write({ type: 'LOG' });
    await w.flush();
    w.write({ type: 'LOG' });
    await w.flush();
    expect(closed).toBe(1);
    expect(w.closed).toBe(true);
  });
});
