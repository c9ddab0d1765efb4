/**
 * A throw-away test PKI for the stand-in's HTTPS mode: a CA and one server certificate signed by it,
 * for the given DNS names and IP addresses, made at start with Node's crypto alone (ECDSA P-256,
 * SHA-256). Node can make keys and sign bytes but has no API to issue an X.509 certificate, so the
 * few DER structures RFC 5280 needs are written here; no openssl binary is needed, so the stand-in
 * runs in a bare node image too. The CA key lives only in memory: nothing made here is ever trusted
 * beyond the process (or the container) that is handed ca.pem, e.g. via NODE_EXTRA_CA_CERTS.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export interface TestPki {
  /** PEM of the CA certificate: what a client must trust (NODE_EXTRA_CA_CERTS). */
  caCert: string;
  /** PEM of the server certificate (leaf only) and its PKCS#8 key, for https.createServer. */
  cert: string;
  key: string;
}

export interface TestPkiOptions {
  /** DNS names and IP addresses the server certificate is valid for (subjectAltName). */
  names: string[];
  /** Days of validity from now (default 7); both certificates also start an hour in the past. */
  days?: number;
  /** CA common name (default "source-hotjar stand-in test CA"). */
  caName?: string;
}

export function makeTestPki(options: TestPkiOptions): TestPki {
  if (options.names.length === 0) throw new Error('a server certificate needs at least one name');
  for (const n of options.names) {
    if (!isIP(n) && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(n)) {
      throw new Error(`not a DNS name or IP address: ${JSON.stringify(n)}`);
    }
  }
  const now = Date.now();
  const notBefore = new Date(now - 3600_000);
  const notAfter = new Date(now + (options.days ?? 7) * 86400_000);
  const caName = name(options.caName ?? 'source-hotjar stand-in test CA');
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caKeyId = keyId(ca.publicKey);

  const caDer = certificate(ca.privateKey, {
    issuer: caName,
    subject: caName,
    notBefore,
    notAfter,
    publicKey: ca.publicKey,
    extensions: [
      extension(OID.basicConstraints, true, seq(bool(true), int(Buffer.from([0])))),
      extension(OID.keyUsage, true, bits(0x06, 1)), // keyCertSign, cRLSign
      extension(OID.subjectKeyIdentifier, false, octets(caKeyId)),
    ],
  });
  const serverDer = certificate(ca.privateKey, {
    issuer: caName,
    subject: name(options.names[0]!),
    notBefore,
    notAfter,
    publicKey: server.publicKey,
    extensions: [
      extension(OID.basicConstraints, true, seq()),
      extension(OID.keyUsage, true, bits(0x80, 7)), // digitalSignature
      extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, seq(...options.names.map(altName))),
      extension(OID.subjectKeyIdentifier, false, octets(keyId(server.publicKey))),
      extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, caKeyId))),
    ],
  });
  return {
    caCert: pem('CERTIFICATE', caDer),
    cert: pem('CERTIFICATE', serverDer),
    key: server.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

interface TbsFields {
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  extensions: Buffer[];
}

function certificate(issuerKey: KeyObject, f: TbsFields): Buffer {
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and of full length
  const tbs = seq(
    tlv(0xa0, int(Buffer.from([2]))), // v3
    int(serial),
    algorithm,
    f.issuer,
    seq(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...f.extensions)),
  );
  const signature = sign('sha256', tbs, { key: issuerKey, dsaEncoding: 'der' });
  return seq(tbs, algorithm, bits(signature, 0));
}

function name(commonName: string): Buffer {
  const rdn = (type: string, value: string): Buffer => tlv(0x31, seq(oid(type), tlv(0x0c, Buffer.from(value, 'utf8'))));
  return seq(rdn(OID.organization, 'source-hotjar tests'), rdn(OID.commonName, commonName));
}

function altName(n: string): Buffer {
  const v = isIP(n);
  if (v === 4) return tlv(0x87, Buffer.from(n.split('.').map(Number)));
  if (v === 6) return tlv(0x87, ipv6Bytes(n));
  return tlv(0x82, Buffer.from(n.toLowerCase(), 'ascii'));
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). */
function keyId(key: KeyObject): Buffer {
  const spki = key.export({ type: 'spki', format: 'der' });
  // The BIT STRING is the last element of the SPKI sequence: for P-256 its 65 key bytes end the buffer.
  return createHash('sha1')
    .update(spki.subarray(spki.length - 65))
    .digest();
}

function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  const compact = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z'; // YYYYMMDDHHmmssZ
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(compact.slice(2), 'ascii')) : tlv(0x18, Buffer.from(compact, 'ascii'));
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

// ---- DER
function tlv(tag: number, value: Buffer): Buffer {
  const n = value.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, value]);
}
function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}
function int(bytes: Buffer): Buffer {
  return tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}
function bool(v: boolean): Buffer {
  return tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
}
function octets(v: Buffer): Buffer {
  return tlv(0x04, v);
}
/** BIT STRING from bytes (or one byte) with the given number of unused trailing bits. */
function bits(v: Buffer | number, unused: number): Buffer {
  const body = typeof v === 'number' ? Buffer.from([v]) : v;
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), body]));
}
function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let x = Math.floor(p / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift((x & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
