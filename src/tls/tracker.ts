/**
 * The per-flow {@link HandshakeTracker}: picks TLS-over-TCP, QUIC or DTLS from the bytes of the first packet,
 * runs the matching byte layers, and collects ClientHello, ServerHello (HelloRetryRequest) and, for TLS <= 1.2,
 * the leaf certificate. Bounded in packets and bytes per direction; never throws.
 */
import {
  ChloAssembler, gquicClientStreamData, gquicClientVersion, isGquicCryptoVersion, QuicInitialReader, QuicParseError,
} from '../quic/index.ts';
import { describeCertificate, leafCertificate, type CertificateInfo } from './certificate.ts';
import { HandshakeType, is13 } from './constants.ts';
import { TlsParseError } from './cursor.ts';
import { DtlsReader } from './dtls.ts';
import { parseClientHello, parseServerHello, type ClientHello, type ServerHello } from './hello.ts';
import { isDtlsStart, isQuicInitialStart } from './sniff.ts';
import { HandshakeAssembler, RecordReader, type MessageSink, type RecordEvents, type StreamEnd } from './stream.ts';
import { buildRecord, negotiated } from './summary.ts';
import { TcpReassembler } from './tcp-reassembly.ts';
import type { HandshakeRecord, HandshakeStatus, HandshakeTracker } from './types.ts';

export interface HandshakeTrackerOptions {
  /** Most bytes buffered or parsed per direction before giving up (default 64 KiB). */
  maxBytesPerDirection?: number;
  /** Most payload-carrying packets looked at per direction before giving up (default 64). */
  maxPacketsPerDirection?: number;
}

const enum Mode {
  NONE,
  TCP,
  QUIC,
  /** Google QUIC Q024..Q046: the client's CHLO in the clear on stream 1. */
  GQUIC,
  DTLS,
  ABSENT,
}

/** Why a direction stopped being read: '' while open, 'complete' when it told us all we need. */
type DirEnd = StreamEnd | 'complete' | 'budget' | 'malformed-hello';

/**
 * The tracker is also the receiver of its byte layers' events (records, messages) for both directions: the
 * layers call its methods with their direction, so setting up a flow creates no closures.
 */
export class TlsHandshakeTracker implements HandshakeTracker, RecordEvents, MessageSink {
  private mode = Mode.NONE;
  private finished = false;
  private cached: HandshakeRecord | null = null;
  private readonly maxBytes: number;
  private readonly maxPackets: number;
  private readonly packets: [number, number] = [0, 0];
  private readonly ended: [DirEnd, DirEnd] = ['', ''];
  /** Any handshake-looking bytes seen per direction (a record, an Initial, a fragment). */
  private readonly evidence: [boolean, boolean] = [false, false];
  private now = 0;
  private malformations = 0;
  private unrecognized = 0;

  private ch: ClientHello | null = null;
  private ch2: ClientHello | null = null;
  private sh: ServerHello | null = null;
  private hrr: ServerHello | null = null;
  private certSeen = false;
  private cert: CertificateInfo | null = null;
  private abbreviated = false;
  private chTs = 0;
  private shTs = -1;
  private chLen = 0;
  private shLen = 0;
  private helloMalformed: [boolean, boolean] = [false, false];

  private tcp: [TcpReassembler, TcpReassembler] | null = null;
  private records: [RecordReader, RecordReader] | null = null;
  private hs: [HandshakeAssembler, HandshakeAssembler] | null = null;
  private quic: QuicInitialReader | null = null;
  /** The client's CHLO (Google QUIC: in the clear before Q050, in Initial packets' CRYPTO frames from Q050). */
  private chlo: ChloAssembler | null = null;
  private gquicVersion = 0;
  private dtls: [DtlsReader, DtlsReader] | null = null;

  constructor(opts: HandshakeTrackerOptions = {}) {
    this.maxBytes = opts.maxBytesPerDirection ?? 64 * 1024;
    this.maxPackets = opts.maxPacketsPerDirection ?? 64;
  }

  get done(): boolean {
    return this.finished;
  }

  onTcp(dir: 0 | 1, seq: number, syn: boolean, payload: Uint8Array, tsUs: number): void {
    if (this.finished) return;
    if (this.mode === Mode.NONE) this.startTcp();
    if (this.mode !== Mode.TCP || this.ended[dir] !== '') return;
    if (payload.length > 0 && ++this.packets[dir] > this.maxPackets) {
      this.endDir(dir, 'budget');
      return;
    }
    this.now = tsUs;
    try {
      this.tcp![dir].push(seq, syn, payload);
      this.afterTcp(dir);
    } catch (e) {
      this.internalError(e);
    }
  }

  onUdp(dir: 0 | 1, payload: Uint8Array, tsUs: number): void {
    if (this.finished) return;
    if (this.mode === Mode.NONE) this.startUdp(payload);
    if ((this.mode !== Mode.QUIC && this.mode !== Mode.DTLS && this.mode !== Mode.GQUIC) || this.ended[dir] !== '') return;
    if (++this.packets[dir] > this.maxPackets) {
      this.endDir(dir, 'budget');
      return;
    }
    this.now = tsUs;
    try {
      if (this.mode === Mode.GQUIC) {
        this.onGquic(dir, payload);
      } else if (this.mode === Mode.QUIC) {
        const q = this.quic!;
        const before = q.counters.packets[dir];
        q.onDatagram(dir, payload);
        if (q.counters.packets[dir] > before) this.evidence[dir] = true;
        if (q.streams[dir].overflow) this.endDir(dir, 'limit');
      } else {
        this.evidence[dir] = true;
        this.dtls![dir].push(payload);
      }
      this.update();
    } catch (e) {
      this.internalError(e);
    }
  }

  result(): HandshakeRecord {
    if (this.cached !== null) return this.cached;
    const r = buildRecord({
      status: this.status(),
      protocol: this.protocol(),
      ch: this.ch, ch2: this.ch2, sh: this.sh, hrr: this.hrr, abbreviated: this.abbreviated, cert: this.cert,
      chTs: this.chTs, shTs: this.shTs, clientHelloLen: this.chLen, serverHelloLen: this.shLen,
      chlo: this.chlo?.facts ?? null, gquicVersion: this.gquicVersion,
      malformations: this.malformations + this.layerMalformations(),
    });
    if (this.finished) this.cached = r;
    return r;
  }

  // ---- set-up -------------------------------------------------------------------------------------------------

  private startTcp(): void {
    this.mode = Mode.TCP;
    this.hs = [new HandshakeAssembler(this.maxBytes, this, 0), new HandshakeAssembler(this.maxBytes, this, 1)];
    const records: [RecordReader, RecordReader] = [
      new RecordReader(HandshakeType.CLIENT_HELLO, this, 0),
      new RecordReader(HandshakeType.SERVER_HELLO, this, 1),
    ];
    this.records = records;
    this.tcp = [new TcpReassembler(this.maxBytes, records[0]), new TcpReassembler(this.maxBytes, records[1])];
  }

  private startUdp(d: Uint8Array): void {
    if (isQuicInitialStart(d, 0, d.length)) {
      this.mode = Mode.QUIC;
      const hs: [HandshakeAssembler, HandshakeAssembler] = [
        new HandshakeAssembler(this.maxBytes, this, 0),
        new HandshakeAssembler(this.maxBytes, this, 1),
      ];
      this.hs = hs;
      this.quic = new QuicInitialReader(this.maxBytes, (dir, data) => {
        // Q050's CRYPTO stream holds QUIC crypto messages (CHLO), not TLS: the client's goes to the CHLO reader.
        if (isGquicCryptoVersion(this.quic!.version)) {
          if (dir === 0) this.onChloBytes(data);
        } else hs[dir].push(data);
      });
    } else if (gquicClientVersion(d, 0, d.length) !== 0) {
      this.mode = Mode.GQUIC;
      this.gquicVersion = gquicClientVersion(d, 0, d.length);
      this.chlo = new ChloAssembler(this.maxBytes);
    } else if (isDtlsStart(d, 0, d.length)) {
      this.mode = Mode.DTLS;
      this.dtls = [
        new DtlsReader(this.maxBytes, (t, b) => {
          this.evidence[0] = true;
          this.onMessage(0, t, b);
        }),
        new DtlsReader(this.maxBytes, (t, b) => {
          this.evidence[1] = true;
          this.onMessage(1, t, b);
        }),
      ];
    } else if (++this.unrecognized >= 3) {
      // STUN or RTP may share the 5-tuple and come first; after a few such datagrams this is no handshake.
      this.mode = Mode.ABSENT;
      this.finish();
    }
  }

  // ---- Google QUIC ----------------------------------------------------------------------------------------------

  /** A Q024..Q046 datagram: the client's stream 1 data feeds the CHLO; the server's packets are encrypted. */
  private onGquic(dir: 0 | 1, d: Uint8Array): void {
    if (dir === 1) return;
    const v = gquicClientVersion(d, 0, d.length);
    if (v === 0) return; // a packet without the version flag: the handshake is past its first packets
    this.evidence[0] = true;
    let sd;
    try {
      sd = gquicClientStreamData(d, v);
    } catch (e) {
      if (!(e instanceof QuicParseError)) throw e;
      this.malformations++;
      return;
    }
    if (sd === null) return;
    this.chlo!.push(sd.offset, sd.data);
    this.afterChlo();
  }

  /** Q050: contiguous CRYPTO bytes of the client, in order. */
  private onChloBytes(data: Uint8Array): void {
    this.chlo ??= new ChloAssembler(this.maxBytes);
    this.gquicVersion = this.quic!.version;
    this.evidence[0] = true;
    this.chlo.append(data);
    this.afterChlo();
  }

  private afterChlo(): void {
    const c = this.chlo!;
    if (c.facts !== null) {
      if (this.chLen === 0) this.chTs = this.now;
      this.chLen = c.facts.length;
    }
    if (!c.done) return;
    if (c.malformed) { this.malformations++; this.helloMalformed[0] = true; }
    // The server's answer (REJ / SHLO) is encrypted or compressed: nothing more to learn from it.
    this.ended[0] ||= c.malformed ? 'malformed-hello' : 'complete';
    this.ended[1] ||= 'complete';
    this.finish();
  }

  // ---- events from the byte layers (called by them; not for other callers) -------------------------------------

  onHandshakeFragment(dir: 0 | 1, fragment: Uint8Array): void {
    this.evidence[dir] = true;
    this.hs![dir].push(fragment);
  }

  onMessage(dir: 0 | 1, type: number, body: Uint8Array): void {
    if (dir === 0) {
      if (type !== HandshakeType.CLIENT_HELLO) return;
      if (this.ch === null) {
        let ch: ClientHello;
        try {
          ch = parseClientHello(body, this.mode === Mode.DTLS);
        } catch (e) {
          this.malformedHello(0, e);
          return;
        }
        this.ch = ch;
        this.chTs = this.now;
        this.chLen = body.length;
      } else if (this.ch2 === null && this.sh === null && this.mode !== Mode.DTLS) {
        // A second ClientHello answers a HelloRetryRequest (which a one-sided capture may not show). After an
        // unseen TLS 1.2 server flight these bytes may be an encrypted Finished instead: failures are ignored.
        try {
          this.ch2 = parseClientHello(body, false);
        } catch (e) {
          if (!(e instanceof TlsParseError)) throw e;
        }
      }
      return;
    }
    switch (type) {
      case HandshakeType.SERVER_HELLO: {
        if (this.sh !== null) return;
        let sh: ServerHello;
        try {
          sh = parseServerHello(body);
        } catch (e) {
          this.malformedHello(1, e);
          return;
        }
        if (this.shTs < 0) this.shTs = this.now;
        if (sh.helloRetryRequest) {
          if (this.hrr === null) this.hrr = sh;
          return;
        }
        this.sh = sh;
        this.shLen = body.length;
        return;
      }
      case HandshakeType.CERTIFICATE:
        if (this.sh === null || this.certSeen || is13(negotiated(this.sh))) return;
        this.certSeen = true;
        try {
          const der = leafCertificate(body);
          if (der !== null) this.cert = describeCertificate(der);
        } catch (e) {
          if (!(e instanceof TlsParseError)) throw e;
          this.malformations++;
        }
        return;
      case HandshakeType.SERVER_HELLO_DONE:
        if (this.sh !== null) this.certSeen = true; // no Certificate in this handshake (anonymous / PSK suites)
        return;
      default:
        return;
    }
  }

  /** A hello that failed to parse ends its direction (anything but a parse error is rethrown). */
  private malformedHello(dir: 0 | 1, e: unknown): void {
    if (!(e instanceof TlsParseError)) throw e;
    this.malformations++;
    this.helloMalformed[dir] = true;
    this.endDir(dir, 'malformed-hello');
  }

  onChangeCipherSpec(dir: 0 | 1): void {
    // TLS 1.3 sends a middlebox-compatibility CCS and its handshake records stay readable (a second ClientHello
    // after a HelloRetryRequest); in TLS <= 1.2 the records after CCS are encrypted.
    if (this.sh !== null ? is13(negotiated(this.sh)) : this.hrr !== null || (dir === 0 && this.offers13())) return;
    this.records![dir].skipHandshake = true;
    if (dir === 1 && this.sh !== null && !this.certSeen) this.abbreviated = true;
  }

  private offers13(): boolean {
    return this.ch !== null && this.ch.supportedVersions.some((v) => is13(v));
  }

  onAlert(dir: 0 | 1): void {
    // A fatal alert before the hellos ends the handshake; after them it changes nothing we record.
    if (dir === 1 && this.sh === null) this.endDir(1, 'stopped');
  }

  onApplicationData(dir: 0 | 1): void {
    this.endDir(dir, 'complete');
  }

  // ---- progress -----------------------------------------------------------------------------------------------

  private afterTcp(dir: 0 | 1): void {
    if (this.finished || this.tcp === null) return;
    const t = this.tcp![dir];
    const r = this.records![dir];
    const h = this.hs![dir];
    if (t.overflow) this.endDir(dir, 'limit');
    else if (r.end !== '') this.endDir(dir, r.end);
    else if (h.end !== '') this.endDir(dir, h.end);
    this.update();
  }

  private clientComplete(): boolean {
    if (this.ch === null) return false;
    if (this.ch2 !== null) return true;
    if (this.hrr !== null) return false;
    // Until the server has answered, a HelloRetryRequest may still ask for a second ClientHello.
    return this.sh !== null || this.ended[1] !== '';
  }

  private serverComplete(): boolean {
    const sh = this.sh;
    if (sh === null) return false;
    if (this.mode === Mode.QUIC || is13(negotiated(sh))) return true;
    return this.certSeen || this.abbreviated;
  }

  private update(): void {
    if (this.ended[0] === '' && this.clientComplete()) this.endDir(0, 'complete');
    if (this.ended[1] === '' && this.serverComplete()) this.endDir(1, 'complete');
    const clientOver = this.ended[0] !== '';
    const serverOver = this.ended[1] !== '';
    // Without a ClientHello there is nothing to wait for once the client side is over.
    if ((clientOver && serverOver) || (clientOver && this.ch === null)) this.finish();
  }

  private endDir(dir: 0 | 1, why: DirEnd): void {
    if (this.ended[dir] !== '') return;
    this.ended[dir] = why;
    if (this.tcp !== null) this.tcp[dir].closed = true;
    if (this.records?.[dir].started) this.evidence[dir] = true;
    this.records?.[dir].stop('stopped');
    this.hs?.[dir].stop('stopped');
    this.update();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.cached = this.result();
    for (const r of this.records ?? []) r.stop('stopped');
    for (const h of this.hs ?? []) h.stop('stopped');
    // Release buffers: a finished tracker may live as long as its flow.
    this.tcp = null;
    this.records = null;
    this.hs = null;
    this.quic = null;
    this.dtls = null;
  }

  private internalError(e: unknown): void {
    // A bug must cost this flow's handshake, never the run.
    this.malformations++;
    this.helloMalformed[0] ||= this.ch === null;
    this.ended[0] ||= 'malformed';
    this.ended[1] ||= 'malformed';
    void e;
    this.finish();
  }

  // ---- outcome ------------------------------------------------------------------------------------------------

  /** Whether a direction showed handshake bytes: a record start, an Initial packet, a DTLS record. */
  private sawHandshake(dir: 0 | 1): boolean {
    return this.evidence[dir] || (this.records !== null && this.records[dir].started);
  }

  private protocol(): 'tls' | 'quic' | 'dtls' | '' {
    const seen = this.ch !== null || this.sh !== null || this.hrr !== null || this.sawHandshake(0) || this.sawHandshake(1);
    if (!seen) return '';
    return this.mode === Mode.QUIC || this.mode === Mode.GQUIC ? 'quic' : this.mode === Mode.DTLS ? 'dtls' : 'tls';
  }

  /** Bytes or packets of a direction that did not turn into the message we waited for. */
  private leftovers(dir: 0 | 1): boolean {
    if (this.ended[dir] === 'limit' || this.ended[dir] === 'budget') return true;
    if (this.tcp !== null && (this.tcp[dir].hasGap || this.tcp[dir].overflow)) return true;
    if (this.records !== null && this.records[dir].buffered > 0 && this.sawHandshake(dir)) return true;
    if (this.hs !== null && this.hs[dir].buffered > 0) return true;
    if (this.quic !== null) {
      const q = this.quic;
      if (q.streams[dir].hasGap || q.streams[dir].overflow || q.counters.failed[dir] > 0) return true;
    }
    return this.sawHandshake(dir);
  }

  private status(): HandshakeStatus {
    if (this.chlo !== null && this.ch === null) {
      const f = this.chlo.facts;
      if (this.chlo.malformed) return 'malformed';
      if (f === null) return this.sawHandshake(0) ? 'partial' : 'absent';
      return f.complete ? 'parsed' : 'partial';
    }
    if (this.ch === null) {
      if (this.helloMalformed[0] || this.ended[0] === 'malformed') return 'malformed';
      if (this.dtls !== null && this.dtls[0].malformed > 0) return 'malformed';
      if (this.quic !== null && this.quic.counters.malformed > 0 && this.quic.counters.opened[0] > 0) return 'malformed';
      if (this.sawHandshake(0) || this.sh !== null || this.hrr !== null) return 'partial';
      if (this.quic !== null && this.quic.counters.packets[0] > 0) return 'partial';
      return 'absent';
    }
    if (this.hrr !== null && this.ch2 === null) return 'partial';
    if (this.sh !== null) return 'parsed';
    if (this.helloMalformed[1]) return 'malformed';
    if (this.ended[1] === 'not-tls' || this.ended[1] === 'stopped') return 'parsed';
    if (this.ended[1] === 'malformed') return 'malformed';
    return this.leftovers(1) ? 'partial' : 'parsed';
  }

  private layerMalformations(): number {
    let n = 0;
    if (this.quic !== null) n += this.quic.counters.malformed;
    if (this.dtls !== null) n += this.dtls[0].malformed + this.dtls[1].malformed;
    if (this.records !== null) for (const r of this.records) if (r.end === 'malformed') n++;
    return n;
  }
}
