import type { PacketInfo } from '../wire/types.ts';
import { Flow, type EndReason } from './flow.ts';

export interface FlowTableOptions {
  /** A flow with no packet for this long ends (microseconds). Default 120 s. */
  idleTimeoutUs: number;
  /** A flow older than this ends and the next packet starts a new one (microseconds). Default 1800 s. */
  activeTimeoutUs: number;
  /** After FIN both ways or RST, how long trailing packets (the last ACK, retransmissions) still belong to the
   * closed flow before it is written out (microseconds). A SYN ends it at once. Default 5 s. */
  closeGraceUs: number;
}

export const DEFAULT_TABLE_OPTIONS: FlowTableOptions = {
  idleTimeoutUs: 120e6,
  activeTimeoutUs: 1800e6,
  closeGraceUs: 5e6,
};

const TCP = 6;
const INITIAL_BUCKETS = 1 << 14;
const FIN = 1, SYN = 2, RST = 4, ACK = 16;

/** Symmetric hash of the endpoints: the same for both directions, small-integer (Map keys stay SMIs). */
export function endpointHash(p: PacketInfo): number {
  let a = 0, b = 0;
  const s = p.src, d = p.dst;
  // Mix each side separately, then combine with a commutative operation so direction does not matter.
  a = Math.imul(s[0]! ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(s[1]!, 0xc2b2ae35) ^ Math.imul(s[2]!, 0x27d4eb2f) ^ Math.imul(s[3]!, 0x165667b1);
  b = Math.imul(d[0]! ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(d[1]!, 0xc2b2ae35) ^ Math.imul(d[2]!, 0x27d4eb2f) ^ Math.imul(d[3]!, 0x165667b1);
  a = Math.imul(a ^ (portOf(p, true) * 0x10001), 0x9e3779b1);
  b = Math.imul(b ^ (portOf(p, false) * 0x10001), 0x9e3779b1);
  let h = (a + b) ^ Math.imul(p.proto + 1, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}

/** ICMP has no ports: request and reply (different types) belong to one flow, keyed by addresses alone. */
function portOf(p: PacketInfo, src: boolean): number {
  if (p.proto === 1 || p.proto === 58) return 0;
  return src ? p.sport : p.dport;
}

/** Whether the four address words of `a` from `at` equal `b`. */
function sameAddr(a: Uint32Array, at: number, b: Uint32Array): boolean {
  return a[at] === b[0] && a[at + 1] === b[1] && a[at + 2] === b[2] && a[at + 3] === b[3];
}

/**
 * The bidirectional flow table: a power-of-two array of buckets indexed by the endpoint hash, flows chained in
 * each, and two expiry lists ordered by last packet time (open flows: idle timeout; closed TCP flows: grace
 * period), so expiry checks only the oldest. At most one flow per endpoint pair is in the table at a time.
 */
export class FlowTable {
  private buckets: (Flow | null)[] = new Array<Flow | null>(INITIAL_BUCKETS).fill(null);
  private mask = INITIAL_BUCKETS - 1;
  private readonly opts: FlowTableOptions;
  private readonly idleUs: number;
  private readonly graceUs: number;
  private readonly heads: (Flow | null)[] = [null, null];
  private readonly tails: (Flow | null)[] = [null, null];
  private now = 0;
  /** Live flows (for progress and memory accounting). */
  live = 0;
  /** Direction of the last packet looked up: 0 from the initiator, 1 from the responder. */
  dir: 0 | 1 = 0;
  /** Set by the last lookup when it started a new flow. */
  created = false;

  constructor(
    opts: Partial<FlowTableOptions>,
    private readonly onStart: (flow: Flow, pkt: PacketInfo) => void,
    private readonly onEnd: (flow: Flow) => void,
  ) {
    this.opts = { ...DEFAULT_TABLE_OPTIONS, ...opts };
    this.idleUs = this.opts.idleTimeoutUs;
    this.graceUs = this.opts.closeGraceUs;
  }

  /**
   * Finds or creates the flow of a decoded packet, after ending flows that timed out before it. Counts the
   * packet in the flow's per-direction totals and TCP state; sets `dir` and `created`.
   */
  packet(p: PacketInfo): Flow {
    const ts = p.tsUs;
    // advance(ts), inlined: nearly every packet moves the clock, and only the oldest flow of each list can expire.
    if (ts > this.now) {
      this.now = ts;
      if (this.due(ts)) this.expire(ts);
    }
    const h = endpointHash(p);
    let f = this.buckets[h & this.mask] as Flow | null;
    const sp = portOf(p, true), dp = portOf(p, false);
    let dir: 0 | 1 = 0;
    for (; f !== null; f = f.chain) {
      if (f.hash !== h || f.proto !== p.proto || f.ipVersion !== p.ipVersion) continue;
      if (f.sport === sp && f.dport === dp && sameAddr(f.addr, 0, p.src) && sameAddr(f.addr, 4, p.dst)) { dir = 0; break; }
      if (f.sport === dp && f.dport === sp && sameAddr(f.addr, 0, p.dst) && sameAddr(f.addr, 4, p.src)) { dir = 1; break; }
    }
    this.created = false;
    if (f !== null) {
      const flags = p.proto === TCP ? p.tcpFlags : 0;
      const newSyn = (flags & (SYN | ACK)) === SYN;
      if (ts - f.firstTs > this.opts.activeTimeoutUs) {
        // The continuation keeps the original orientation: the client stays the source.
        this.end(f, 'active');
        f = this.start(p, h, sp, dp, dir === 0);
      } else if (newSyn && (f.closed || f.finMask !== 0 || f.rst)) {
        // 5-tuple reuse: a fresh SYN after the connection closed starts a new connection.
        this.end(f, f.endReason);
        f = this.start(p, h, sp, dp, true);
        dir = 0;
      } else {
        if (ts > f.lastTs) f.lastTs = ts;
        this.touch(f);
      }
    } else {
      f = this.start(p, h, sp, dp, true);
    }
    this.dir = dir;
    if (dir === 0) { f.fwdPkts++; f.fwdBytes += p.wireLen; } else { f.bwdPkts++; f.bwdBytes += p.wireLen; }
    if (p.proto === TCP && !f.closed) {
      const flags = p.tcpFlags;
      if (flags & RST) { f.rst = true; this.close(f, 'rst'); }
      else if (flags & FIN) {
        f.finMask |= 1 << dir;
        if (f.finMask === 3) this.close(f, 'fin');
      }
    }
    return f;
  }

  /** Moves the table's clock to a packet's time (never backwards), ending the flows that timed out. */
  advance(ts: number): void {
    if (ts > this.now) {
      this.now = ts;
      if (this.due(ts)) this.expire(ts);
    }
  }

  /** Whether the oldest flow of either expiry list is past its timeout at `nowUs` (as `expire` judges it). */
  private due(nowUs: number): boolean {
    const open = this.heads[0]!, closed = this.heads[1]!;
    return (open !== null && nowUs - open.lastTs > this.idleUs) || (closed !== null && nowUs - closed.lastTs > this.graceUs);
  }

  /** Ends every flow whose timeout passed by `nowUs` (also called by live capture on a timer). */
  expire(nowUs: number): void {
    const idle = this.idleUs, grace = this.graceUs;
    let f = this.heads[0]!;
    while (f !== null && nowUs - f.lastTs > idle) { this.end(f, 'idle'); f = this.heads[0]!; }
    f = this.heads[1]!;
    while (f !== null && nowUs - f.lastTs > grace) { this.end(f, f.endReason); f = this.heads[1]!; }
  }

  /** Ends every flow still open (end of input). */
  flush(): void {
    for (const list of [0, 1] as const) {
      let f = this.heads[list]!;
      while (f !== null) { this.end(f, list === 1 ? f.endReason : 'eof'); f = this.heads[list]!; }
    }
  }

  private start(p: PacketInfo, h: number, sp: number, dp: number, forward: boolean): Flow {
    const f = forward
      ? new Flow(h, p.ipVersion, p.src, p.dst, sp, dp, p.proto, p.tsUs)
      : new Flow(h, p.ipVersion, p.dst, p.src, dp, sp, p.proto, p.tsUs);
    const i = h & this.mask;
    f.chain = this.buckets[i] as Flow | null;
    this.buckets[i] = f;
    this.link(f, 0);
    if (++this.live > this.buckets.length) this.grow();
    this.created = true;
    this.onStart(f, p);
    return f;
  }

  private close(f: Flow, reason: EndReason): void {
    f.closed = true;
    f.endReason = reason;
    this.unlink(f);
    this.link(f, 1);
  }

  private end(f: Flow, reason: EndReason): void {
    f.endReason = reason;
    this.unlink(f);
    // Remove from its bucket chain.
    const i = f.hash & this.mask;
    const first = this.buckets[i]!;
    if (first === f) {
      this.buckets[i] = f.chain;
    } else {
      let g = first;
      while (g.chain !== f) g = g.chain!;
      g.chain = f.chain;
    }
    f.chain = null;
    this.live--;
    this.onEnd(f);
  }

  /** Doubles the bucket array (keeping chains short) and rehashes every flow in the table. */
  private grow(): void {
    const old = this.buckets;
    const n = old.length * 2;
    const next = new Array<Flow | null>(n).fill(null);
    const mask = n - 1;
    for (let i = 0; i < old.length; i++) {
      let f = old[i] as Flow | null;
      while (f !== null) {
        const after = f.chain;
        const j = f.hash & mask;
        f.chain = next[j] as Flow | null;
        next[j] = f;
        f = after;
      }
    }
    this.buckets = next;
    this.mask = mask;
  }

  private touch(f: Flow): void {
    if (this.tails[f.list] === f) return;
    const l = f.list;
    this.unlink(f);
    this.link(f, l);
  }

  private link(f: Flow, list: 0 | 1): void {
    f.list = list;
    f.prev = this.tails[list]!;
    f.next = null;
    if (f.prev) f.prev.next = f; else this.heads[list] = f;
    this.tails[list] = f;
  }

  private unlink(f: Flow): void {
    const l = f.list;
    if (f.prev) f.prev.next = f.next; else this.heads[l] = f.next;
    if (f.next) f.next.prev = f.prev; else this.tails[l] = f.prev;
    f.prev = f.next = null;
  }
}
