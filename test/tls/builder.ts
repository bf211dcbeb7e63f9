/**
 * Handshake writer for tests: ClientHello / ServerHello / Certificate bodies, handshake messages, TLS and DTLS
 * records, and TCP segment helpers. The inverse of src/tls's grammar, so tests can round-trip.
 */

export function u8(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff);
}
export function u16(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}
export function u24(v: number): Uint8Array {
  return Uint8Array.of((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}
export function cat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
export function vec8(b: Uint8Array): Uint8Array {
  return cat(u8(b.length), b);
}
export function vec16(b: Uint8Array): Uint8Array {
  return cat(u16(b.length), b);
}
export function vec24(b: Uint8Array): Uint8Array {
  return cat(u24(b.length), b);
}
export function list16(values: readonly number[]): Uint8Array {
  return cat(...values.map(u16));
}
export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}
export function fill(n: number, v = 0): Uint8Array {
  return new Uint8Array(n).fill(v);
}

export interface Extension {
  type: number;
  data: Uint8Array;
}

export const ext = {
  raw: (type: number, data: Uint8Array = new Uint8Array(0)): Extension => ({ type, data }),
  sni: (name: string): Extension => ({ type: 0, data: vec16(cat(u8(0), vec16(ascii(name)))) }),
  groups: (g: readonly number[]): Extension => ({ type: 10, data: vec16(list16(g)) }),
  pointFormats: (f: readonly number[]): Extension => ({ type: 11, data: vec8(Uint8Array.from(f)) }),
  sigAlgs: (s: readonly number[]): Extension => ({ type: 13, data: vec16(list16(s)) }),
  alpn: (protos: readonly (string | Uint8Array)[]): Extension => ({
    type: 16,
    data: vec16(cat(...protos.map((p) => vec8(typeof p === 'string' ? ascii(p) : p)))),
  }),
  supportedVersions: (v: readonly number[]): Extension => ({ type: 43, data: vec8(list16(v)) }),
  /** key_share entries; group 0x11ec (X25519MLKEM768) gets a 1216-byte share like post-quantum browsers send. */
  keyShare: (groups: readonly number[]): Extension => ({
    type: 51,
    data: vec16(cat(...groups.map((g) => cat(u16(g), vec16(fill(g === 0x11ec ? 1216 : 32, 0x42)))))),
  }),
  pskModes: (m: readonly number[]): Extension => ({ type: 45, data: vec8(Uint8Array.from(m)) }),
  sessionTicket: (ticket: Uint8Array = new Uint8Array(0)): Extension => ({ type: 35, data: ticket }),
  psk: (): Extension => ({
    type: 41,
    data: cat(vec16(cat(vec16(fill(16, 7)), u8(0), u8(0), u8(0), u8(1))), vec16(vec8(fill(32, 9)))),
  }),
  earlyData: (): Extension => ({ type: 42, data: new Uint8Array(0) }),
  ech: (): Extension => ({ type: 0xfe0d, data: cat(u8(0), u16(1), u16(1), u8(3), vec16(fill(32, 1)), vec16(fill(100, 2))) }),
  padding: (n: number): Extension => ({ type: 21, data: fill(n) }),
  ems: (): Extension => ({ type: 23, data: new Uint8Array(0) }),
  renegotiationInfo: (): Extension => ({ type: 0xff01, data: u8(0) }),
  quicTransportParameters: (): Extension => ({ type: 57, data: hex('0104800075300302450004048000ffff') }),
};

function extensionBlock(exts: readonly Extension[] | undefined): Uint8Array {
  if (exts === undefined) return new Uint8Array(0);
  return vec16(cat(...exts.map((e) => cat(u16(e.type), vec16(e.data)))));
}

export interface ClientHelloSpec {
  version?: number;
  sessionId?: Uint8Array;
  /** DTLS only. */
  cookie?: Uint8Array;
  ciphers: readonly number[];
  compression?: readonly number[];
  /** Undefined: no extensions block at all. */
  extensions?: readonly Extension[];
}

export function clientHelloBody(s: ClientHelloSpec, dtls = false): Uint8Array {
  return cat(
    u16(s.version ?? 0x0303),
    fill(32, 0x11),
    vec8(s.sessionId ?? new Uint8Array(0)),
    dtls ? vec8(s.cookie ?? new Uint8Array(0)) : new Uint8Array(0),
    vec16(list16(s.ciphers)),
    vec8(Uint8Array.from(s.compression ?? [0])),
    extensionBlock(s.extensions),
  );
}

export interface ServerHelloSpec {
  version?: number;
  random?: Uint8Array;
  sessionId?: Uint8Array;
  cipher: number;
  extensions?: readonly Extension[];
}

/** `SHA-256("HelloRetryRequest")`. */
export const HRR_RANDOM = hex('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c');

export const sext = {
  supportedVersion: (v: number): Extension => ({ type: 43, data: u16(v) }),
  alpn: (p: string): Extension => ({ type: 16, data: vec16(vec8(ascii(p))) }),
  keyShare: (group: number): Extension => ({ type: 51, data: cat(u16(group), vec16(fill(32, 5))) }),
  hrrKeyShare: (group: number): Extension => ({ type: 51, data: u16(group) }),
  psk: (identity = 0): Extension => ({ type: 41, data: u16(identity) }),
};

export function serverHelloBody(s: ServerHelloSpec): Uint8Array {
  return cat(
    u16(s.version ?? 0x0303),
    s.random ?? fill(32, 0x22),
    vec8(s.sessionId ?? new Uint8Array(0)),
    u16(s.cipher),
    u8(0),
    extensionBlock(s.extensions),
  );
}

export function certificateBody(ders: readonly Uint8Array[]): Uint8Array {
  return vec24(cat(...ders.map(vec24)));
}

/** Handshake message: type(1) length(3) body. */
export function handshake(type: number, body: Uint8Array): Uint8Array {
  return cat(u8(type), u24(body.length), body);
}

/** One TLS record. */
export function record(type: number, payload: Uint8Array, version = 0x0301): Uint8Array {
  return cat(u8(type), u16(version), u16(payload.length), payload);
}

/** A payload split into records of at most `max` bytes each. */
export function records(type: number, payload: Uint8Array, max: number, version = 0x0301): Uint8Array {
  const out: Uint8Array[] = [];
  for (let o = 0; o < payload.length; o += max) out.push(record(type, payload.subarray(o, o + max), version));
  return cat(...out);
}

/** DTLS record (13-byte header). */
export function dtlsRecord(type: number, payload: Uint8Array, epoch = 0, seq = 0, version = 0xfefd): Uint8Array {
  return cat(u8(type), u16(version), u16(epoch), u16(0), u16(0), u16(seq), u16(payload.length), payload);
}

/** DTLS handshake fragments of one message (12-byte headers), `max` body bytes each. */
export function dtlsFragments(type: number, body: Uint8Array, messageSeq: number, max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < body.length; o += max) {
    const frag = body.subarray(o, Math.min(body.length, o + max));
    out.push(cat(u8(type), u24(body.length), u16(messageSeq), u24(o), u24(frag.length), frag));
  }
  return out;
}

/** A byte stream cut into TCP segments at the given offsets, with absolute sequence numbers from `isn + 1`. */
export function segments(stream: Uint8Array, cuts: readonly number[], isn: number): { seq: number; data: Uint8Array }[] {
  const points = [0, ...cuts.filter((c) => c > 0 && c < stream.length), stream.length];
  const out: { seq: number; data: Uint8Array }[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    out.push({ seq: (isn + 1 + points[i]!) >>> 0, data: stream.subarray(points[i]!, points[i + 1]!) });
  }
  return out;
}

/** A Chrome-like TLS 1.3 ClientHello with GREASE in ciphers, extensions, groups and versions. */
export function chromeLikeHello(sni = 'www.example.com'): ClientHelloSpec {
  return {
    sessionId: fill(32, 0x33),
    ciphers: [0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035],
    extensions: [
      ext.raw(0x2a2a),
      ext.sni(sni),
      ext.ems(),
      ext.renegotiationInfo(),
      ext.groups([0x4a4a, 0x001d, 0x0017, 0x0018]),
      ext.pointFormats([0]),
      ext.sessionTicket(),
      ext.alpn(['h2', 'http/1.1']),
      ext.raw(5, hex('0100000000')),
      ext.sigAlgs([0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]),
      ext.raw(18),
      ext.keyShare([0x5a5a, 0x001d]),
      ext.pskModes([1]),
      ext.supportedVersions([0x6a6a, 0x0304, 0x0303]),
      ext.raw(27, hex('020002')),
      ext.raw(17513, hex('0003026832')),
      ext.raw(0x3a3a, u8(0)),
      ext.padding(100),
    ],
  };
}
