import type { ServerResponse } from 'node:http';
import type { StoredLiveRecord } from './store.ts';

/** Seconds of per-second traffic kept for the rolling charts (the longest window: 60 minutes). */
export const SERIES_SECONDS = 3600;
/** Bytes an SSE client may leave unread in its socket before it is dropped (the capture never waits for it). */
export const CLIENT_BUFFER_BYTES = 1 << 20;
/** Applications kept apart in the rolling series and counters; the rest count as "(other)". */
const MAX_APPS = 200;

interface Bucket {
  second: number;
  category: Map<string, { bytes: number; flows: number }>;
  app: Map<string, { bytes: number; flows: number }>;
}

/** Rolling traffic by category and application, one bucket per second for the last hour. */
export class RollingSeries {
  private readonly ring: (Bucket | null)[] = new Array(SERIES_SECONDS).fill(null);
  private readonly apps = new Set<string>();

  private bucket(second: number): Bucket {
    const i = second % SERIES_SECONDS;
    let b = this.ring[i];
    if (!b || b.second !== second) { b = { second, category: new Map(), app: new Map() }; this.ring[i] = b; }
    return b;
  }

  appName(app: string): string {
    const a = app || '(none)';
    if (this.apps.has(a)) return a;
    if (this.apps.size >= MAX_APPS) return '(other)';
    this.apps.add(a);
    return a;
  }

  add(nowMs: number, category: string, app: string, bytes: number, flows: number): void {
    const b = this.bucket(Math.floor(nowMs / 1000));
    for (const [m, k] of [[b.category, category || 'unknown'], [b.app, this.appName(app)]] as const) {
      const c = m.get(k) ?? { bytes: 0, flows: 0 };
      c.bytes += bytes;
      c.flows += flows;
      m.set(k, c);
    }
  }

  /**
   * The last `windowS` seconds in `points` steps: per step, bytes/s and flows/s by category and by application
   * (the `top` applications by bytes over the window; the others summed as "(other)").
   */
  window(nowMs: number, windowS: number, points = 60, top = 8): {
    windowS: number; stepS: number; start: number;
    category: Record<string, { bytes: number[]; flows: number[] }>;
    app: Record<string, { bytes: number[]; flows: number[] }>;
    topServices: { app: string; bytes: number; flows: number }[];
  } {
    const stepS = Math.max(1, Math.floor(windowS / points));
    const n = Math.ceil(windowS / stepS);
    const end = Math.floor(nowMs / 1000);
    const start = end - n * stepS + 1;
    const totals = new Map<string, { bytes: number; flows: number }>();
    const cat: Record<string, { bytes: number[]; flows: number[] }> = {};
    const appAll: Record<string, { bytes: number[]; flows: number[] }> = {};
    for (let s = start; s <= end; s++) {
      const b = this.ring[s % SERIES_SECONDS];
      if (!b || b.second !== s) continue;
      const step = Math.floor((s - start) / stepS);
      for (const [which, m] of [[cat, b.category], [appAll, b.app]] as const) {
        for (const [k, c] of m) {
          const e = which[k] ??= { bytes: new Array(n).fill(0), flows: new Array(n).fill(0) };
          e.bytes[step]! += c.bytes / stepS;
          e.flows[step]! += c.flows / stepS;
          if (which === appAll) { const t = totals.get(k) ?? { bytes: 0, flows: 0 }; t.bytes += c.bytes; t.flows += c.flows; totals.set(k, t); }
        }
      }
    }
    const ranked = [...totals].sort((a, b) => b[1].bytes - a[1].bytes);
    const keep = new Set(ranked.slice(0, top).map(([k]) => k));
    const app: Record<string, { bytes: number[]; flows: number[] }> = {};
    for (const [k, e] of Object.entries(appAll)) {
      if (keep.has(k)) { app[k] = e; continue; }
      const o = app['(other)'] ??= { bytes: new Array(n).fill(0), flows: new Array(n).fill(0) };
      for (let i = 0; i < n; i++) { o.bytes[i]! += e.bytes[i]!; o.flows[i]! += e.flows[i]!; }
    }
    return { windowS, stepS, start, category: cat, app, topServices: ranked.slice(0, 20).map(([k, t]) => ({ app: k, ...t })) };
  }
}

interface Client {
  res: ServerResponse;
  paused: boolean;
}

/**
 * Fans live records and capture health out to the dashboards (server-sent events), counts traffic by category and
 * application for Prometheus and the rolling charts. Writes never wait: a client whose socket holds more than
 * {@link CLIENT_BUFFER_BYTES} unread is dropped (its page reconnects and reloads), so a slow browser costs only
 * itself.
 */
export class LiveHub {
  readonly series = new RollingSeries();
  private readonly clients = new Set<Client>();
  /** Flows and bytes by (category, app) since the server started, and verdicts by kind. */
  private readonly counters = new Map<string, { category: string; app: string; flows: number; bytes: number }>();
  readonly verdicts = { early: 0, final: 0 };
  /** Bytes already counted for a flow at its early verdict (so its final one adds only the rest). */
  private readonly earlyBytes = new Map<string, number>();
  dropped = 0;
  private pending: StoredLiveRecord[] = [];

  get clientCount(): number {
    return this.clients.size;
  }

  /** Counts a batch of records and queues them for the clients (sent by `flush`, twice a second). */
  records(rs: StoredLiveRecord[]): void {
    for (const r of rs) {
      this.verdicts[r.kind]++;
      let flows = 1, bytes = r.bytes;
      if (r.kind === 'early') {
        if (this.earlyBytes.size >= 200_000) this.earlyBytes.clear();
        this.earlyBytes.set(r.key, r.bytes);
      } else {
        const e = this.earlyBytes.get(r.key);
        if (e !== undefined) { flows = 0; bytes = Math.max(0, r.bytes - e); this.earlyBytes.delete(r.key); }
      }
      const app = this.series.appName(r.app);
      const k = `${r.category}\u0000${app}`;
      const c = this.counters.get(k) ?? { category: r.category || 'unknown', app, flows: 0, bytes: 0 };
      c.flows += flows;
      c.bytes += bytes;
      this.counters.set(k, c);
      this.series.add(r.receivedAt, r.category, r.app, bytes, flows);
    }
    this.pending.push(...rs);
    // Bounded: between two flushes at most this many records wait; the store has them all.
    if (this.pending.length > 5000) this.pending = this.pending.slice(-5000);
  }

  /** Opens an event stream on `res` (the route has checked the key). */
  attach(res: ServerResponse, hello: unknown): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const c: Client = { res, paused: false };
    this.clients.add(c);
    res.on('close', () => this.clients.delete(c));
    this.send(c, sseMessage('hello', hello));
  }

  private send(c: Client, message: string): void {
    const res = c.res;
    if (res.destroyed) { this.clients.delete(c); return; }
    if (res.writableLength > CLIENT_BUFFER_BYTES) {
      this.dropped++;
      this.clients.delete(c);
      res.destroy();
      return;
    }
    res.write(message);
  }

  /** Sends one event to every client, serialised once. */
  broadcast(event: string, data: unknown): void {
    if (!this.clients.size) return;
    const message = sseMessage(event, data);
    for (const c of this.clients) this.send(c, message);
  }

  /** Sends the queued records (newest last) to every client. */
  flush(): void {
    if (!this.pending.length) return;
    const rs = this.pending;
    this.pending = [];
    this.broadcast('records', rs);
  }

  closeAll(): void {
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  /** Prometheus lines: live flows and bytes by category and application, verdicts by kind, dropped clients. */
  prometheus(sources: { id: string; iface: string; packets: number; dropped: number; ifDropped: number }[]): string {
    const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, lines: string[]) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
    const rows = [...this.counters.values()].sort((a, b) => (a.category + a.app).localeCompare(b.category + b.app));
    metric('veil_live_flows_total', 'counter', 'Live flows classified, by verdict category and application (a flow counts once, at its first verdict).',
      rows.map((r) => `veil_live_flows_total{category="${esc(r.category)}",app="${esc(r.app)}"} ${r.flows}`));
    metric('veil_live_bytes_total', 'counter', 'Bytes of live flows (frame lengths on the wire), by verdict category and application.',
      rows.map((r) => `veil_live_bytes_total{category="${esc(r.category)}",app="${esc(r.app)}"} ${r.bytes}`));
    metric('veil_live_verdicts_total', 'counter', 'Live verdicts made, by kind (early: at the N-th packet; final: when the flow ended).',
      (['early', 'final'] as const).map((k) => `veil_live_verdicts_total{kind="${k}"} ${this.verdicts[k]}`));
    metric('veil_live_packets_total', 'counter', 'Packets read from each live source.',
      sources.map((s) => `veil_live_packets_total{source="${esc(s.id)}",interface="${esc(s.iface)}"} ${s.packets}`));
    metric('veil_live_capture_dropped_total', 'counter', 'Packets dropped before Veil saw them, by live source and where (kernel: the capture buffer was full; interface: the driver).',
      sources.flatMap((s) => [`veil_live_capture_dropped_total{source="${esc(s.id)}",interface="${esc(s.iface)}",by="kernel"} ${s.dropped}`,
        `veil_live_capture_dropped_total{source="${esc(s.id)}",interface="${esc(s.iface)}",by="interface"} ${s.ifDropped}`]));
    metric('veil_live_sse_clients_dropped_total', 'counter', 'Dashboard connections dropped because they read too slowly.', [`veil_live_sse_clients_dropped_total ${this.dropped}`]);
    return out.join('\n') + '\n';
  }
}

/** One server-sent event. */
function sseMessage(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
