/**
 * Byte-stream layers of TLS over TCP: the record layer (RFC 8446 §5.1) and handshake-message framing
 * (RFC 8446 §4), both incremental. Data is parsed in place from the caller's view when it holds whole units;
 * only a trailing partial record or message is copied.
 */

const EMPTY = new Uint8Array(0);

/** A layer parsing the bytes an {@link Accumulator} holds. */
export interface Consumer {
  /** Parses what it can of `view` and returns how many leading bytes it used; the rest is kept for later. */
  consume(view: Uint8Array): number;
}

/** Holds the unconsumed tail between feeds; `feed` runs the consumer over the bytes available. */
export class Accumulator {
  private buf: Uint8Array = EMPTY;
  len = 0;
  /** Set by the consumer when it stops short: bytes the unit it waits for needs in all (the buffer is sized so). */
  want = 0;

  feed(data: Uint8Array, consumer: Consumer): void {
    if (this.len === 0) {
      const used = consumer.consume(data);
      if (used < data.length) this.append(data.subarray(used));
      return;
    }
    this.append(data);
    const used = consumer.consume(this.buf.subarray(0, this.len));
    if (used >= this.len) {
      this.len = 0;
    } else if (used > 0) {
      this.buf.copyWithin(0, used, this.len);
      this.len -= used;
    }
  }

  clear(): void {
    this.len = 0;
    this.buf = EMPTY;
  }

  private append(d: Uint8Array): void {
    const need = this.len + d.length;
    if (need > this.buf.length) {
      const nb = new Uint8Array(Math.max(need, this.want, this.buf.length * 2, 256));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(d, this.len);
    this.len = need;
  }
}

export type StreamEnd = '' | 'limit' | 'malformed' | 'not-tls' | 'stopped';

/** Receives the handshake messages of both directions (one sink per flow, so no closure per direction). */
export interface MessageSink {
  onMessage(dir: 0 | 1, type: number, body: Uint8Array): void;
}

/*
 * RFC 8446 §4:
 *   struct {
 *       HandshakeType msg_type;    // 1 byte
 *       uint24 length;             // bytes in message
 *       select (msg_type) { ... } body;
 *   } Handshake;
 * Messages may span records and records may hold several messages.
 */
export class HandshakeAssembler implements Consumer {
  end: StreamEnd = '';
  /** Bytes of a message still being collected. */
  get buffered(): number {
    return this.acc.len;
  }
  private readonly acc = new Accumulator();
  private readonly limit: number;
  private readonly sink: MessageSink;
  private readonly dir: 0 | 1;

  constructor(limit: number, sink: MessageSink, dir: 0 | 1) {
    this.limit = limit;
    this.sink = sink;
    this.dir = dir;
  }

  stop(why: StreamEnd): void {
    if (this.end === '') this.end = why;
    this.acc.clear();
  }

  push(data: Uint8Array): void {
    if (this.end !== '') return;
    this.acc.feed(data, this);
    if (this.end !== '') this.acc.clear();
  }

  consume(v: Uint8Array): number {
    let p = 0;
    while (this.end === '' && v.length - p >= 4) {
      const len = (v[p + 1]! << 16) | (v[p + 2]! << 8) | v[p + 3]!;
      if (len > this.limit) {
        this.stop('limit');
        return v.length;
      }
      if (v.length - p - 4 < len) {
        this.acc.want = 4 + len;
        break;
      }
      const type = v[p]!;
      this.sink.onMessage(this.dir, type, v.subarray(p + 4, p + 4 + len));
      p += 4 + len;
    }
    return p;
  }
}

/** Largest TLSCiphertext.length (RFC 5246 §6.2.3: 2^14 + 2048). */
const MAX_RECORD = 16384 + 2048;
/** How far into a stream to look for the first record when it does not start with one (SOCKS, CONNECT). */
const SEEK_WINDOW = 2048;

/** What the record layers of both directions report (one receiver per flow, so no closure per direction). */
export interface RecordEvents {
  /** A handshake record's payload, unless {@link RecordReader.skipHandshake} is set. */
  onHandshakeFragment(dir: 0 | 1, fragment: Uint8Array): void;
  onChangeCipherSpec(dir: 0 | 1): void;
  onAlert(dir: 0 | 1): void;
  onApplicationData(dir: 0 | 1): void;
}

function plausibleHeader(v: Uint8Array, p: number): boolean {
  const t = v[p]!;
  return t >= 20 && t <= 24 && v[p + 1] === 3 && v[p + 2]! <= 4 && ((v[p + 3]! << 8) | v[p + 4]!) <= MAX_RECORD;
}

/*
 * RFC 8446 §5.1:
 *   struct {
 *       ContentType type;                  // 20 ccs, 21 alert, 22 handshake, 23 application_data, 24 heartbeat
 *       ProtocolVersion legacy_record_version;
 *       uint16 length;                     // <= 2^14 (+2048 for ciphertext, RFC 5246)
 *       opaque fragment[TLSPlaintext.length];
 *   } TLSPlaintext;
 */
export class RecordReader implements Consumer {
  end: StreamEnd = '';
  /** Records parsed so far. */
  records = 0;
  /** Set once handshake records are encrypted (after ChangeCipherSpec in TLS <= 1.2): their payloads are skipped. */
  skipHandshake = false;
  /** True once the first record header was found. */
  started = false;
  /** Bytes skipped before the first record (a proxy prelude such as SOCKS or HTTP CONNECT). */
  skippedPrelude = 0;
  private seeking = true;
  private readonly acc = new Accumulator();
  private readonly expectType: number;
  private readonly events: RecordEvents;
  private readonly dir: 0 | 1;

  /**
   * @param expectType handshake type that starts this direction (1 client, 2 server), used to find the first record
   * @param dir the direction reported to `events`
   */
  constructor(expectType: number, events: RecordEvents, dir: 0 | 1) {
    this.expectType = expectType;
    this.events = events;
    this.dir = dir;
  }

  get buffered(): number {
    return this.acc.len;
  }

  stop(why: StreamEnd): void {
    if (this.end === '') this.end = why;
    this.acc.clear();
  }

  push(data: Uint8Array): void {
    if (this.end !== '') return;
    this.acc.feed(data, this);
    if (this.end !== '') this.acc.clear();
  }

  consume(v: Uint8Array): number {
    let p = 0;
    if (this.seeking) {
      const at = this.seek(v);
      if (at < 0) {
        if (v.length >= SEEK_WINDOW) {
          this.stop('not-tls');
          return v.length;
        }
        return 0;
      }
      this.seeking = false;
      this.started = true;
      this.skippedPrelude = at;
      p = at;
    }
    while (this.end === '' && v.length - p >= 5) {
      if (!plausibleHeader(v, p)) {
        this.stop('malformed');
        return v.length;
      }
      const len = (v[p + 3]! << 8) | v[p + 4]!;
      if (v.length - p - 5 < len) {
        this.acc.want = 5 + len;
        break;
      }
      const type = v[p]!;
      const frag = v.subarray(p + 5, p + 5 + len);
      p += 5 + len;
      this.records++;
      switch (type) {
        case 22:
          if (!this.skipHandshake) this.events.onHandshakeFragment(this.dir, frag);
          break;
        case 20:
          this.events.onChangeCipherSpec(this.dir);
          break;
        case 21:
          this.events.onAlert(this.dir);
          break;
        case 23:
          this.events.onApplicationData(this.dir);
          break;
        default:
          break;
      }
    }
    return p;
  }

  /**
   * Offset of the first record: 0 when the stream starts with a plausible record header, else the first
   * handshake record of the expected type within the window; -1 when none yet (more data may still come).
   */
  private seek(v: Uint8Array): number {
    // A TLS-looking type and version at the very start is taken as the first record even if its length is
    // impossible: the record loop then calls it malformed instead of searching past it.
    if (v.length >= 3 && v[0]! >= 20 && v[0]! <= 24 && v[1] === 3 && v[2]! <= 4) return 0;
    if (v.length < 5) return -1;
    return this.scan(v);
  }

  private scan(v: Uint8Array): number {
    const lim = Math.min(v.length - 9, SEEK_WINDOW);
    for (let i = 1; i <= lim; i++) {
      if (v[i] !== 22 || v[i + 1] !== 3 || v[i + 2]! > 4 || v[i + 5] !== this.expectType) continue;
      const recLen = (v[i + 3]! << 8) | v[i + 4]!;
      const hsLen = (v[i + 6]! << 16) | (v[i + 7]! << 8) | v[i + 8]!;
      if (recLen >= 4 && recLen <= MAX_RECORD && hsLen >= 34 && hsLen < 1 << 18) return i;
    }
    return -1;
  }
}
