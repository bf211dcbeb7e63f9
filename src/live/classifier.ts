/**
 * Live classification of metered flows: an early verdict at a flow's N-th packet and a final one when it ends.
 *
 * A {@link LiveMeter} feeds every frame to two meters: the full one (rows when flows end) and, with `early`, a cut
 * one (`packetLimit` N: a row at each flow's N-th packet with every column as of that packet). Both cut flows at the
 * same places (same table, same timeouts), so an early and a final record of one flow share their key (endpoints,
 * protocol, first packet time). A {@link FlowClassifier} turns batches of rows into {@link LiveRecord}s: the names
 * verdict (SNI, certificate, HTTP Host, DNS, ports) combined with the behaviour model that fits the record's kind
 * (early: a model trained with `--early N`; final: the full-flow models).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RawFrame } from '../wire/types.ts';
import type { CellValue, ColumnDef } from '../flow/columns.ts';
import { Meter, type MeterOptions, type MeterStats } from '../flow/meter.ts';
import { flowRowsToTable } from '../dataset/flows.ts';
import { appAnswer, isApplicationModel, verdictCells } from '../dataset/verdict.ts';
import { loadModel, modelInputs, predictColumns, type VeilModel } from '../model/index.ts';
import { nameColumns, namesAt, type AppModelAnswer, type Catalog, type ModelAnswer } from '../names/index.ts';

export type VerdictKind = 'early' | 'final';

/** One verdict on one live flow, as the service stores and pushes it and the terminal prints it. */
export interface LiveRecord {
  kind: VerdictKind;
  /** Endpoints, protocol and first packet time: the same for a flow's early and final records. */
  key: string;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  proto: number;
  /** Capture times (seconds since the epoch). */
  firstTs: number;
  lastTs: number;
  /** Packets and bytes as of this verdict (early: the first N packets). */
  packets: number;
  bytes: number;
  endReason: string;
  /** SNI, else HTTP Host, else the DNS answer's name. */
  name: string;
  alpn: string;
  ja4: string;
  app: string;
  appSource: string;
  category: string;
  categorySource: string;
  categoryConfidence: number;
  /** Each applied model's own answer. */
  models: { column: string; label: string; confidence: number; reason: string }[];
}

export interface AppliedModel {
  column: string;
  model: VeilModel;
}

/** The column of the model whose answer is the behaviour side of the verdict. */
export const BEHAVIOUR_COLUMN = 'category';

/** The shipped models (`models/defaults.json`) that exist in `dir`, and the early models beside them (`early` entries). */
export async function loadModelSet(dir: string): Promise<AppliedModel[]> {
  const file = path.join(dir, 'defaults.json');
  if (!existsSync(file)) return [];
  const d = JSON.parse(readFileSync(file, 'utf8')) as { models: { column: string; file: string }[] };
  const out: AppliedModel[] = [];
  for (const m of d.models) {
    const p = path.join(dir, m.file);
    if (existsSync(p)) out.push({ column: m.column, model: await loadModel(p) });
  }
  return out;
}

/** The early cut N a model was trained with (`veil train --early N`), 0 for a full-flow model. */
export function earlyCutOf(m: VeilModel): number {
  return m.manifest.meter?.earlyPackets ?? 0;
}

const at = (byName: Map<string, number>, n: string): number => byName.get(n) ?? -1;

/** Rows in, records out, for one kind of verdict; the column layout is learnt from the first batch. */
export class FlowClassifier {
  private cols: readonly ColumnDef[] = [];
  private idx: Record<string, number> = {};
  private names: ReturnType<typeof nameColumns> | null = null;
  private readonly behaviour: number;
  /** An application model (classes are catalogued services: taught by names) names flows whose names are hidden. */
  private readonly app: number;

  constructor(readonly kind: VerdictKind, private readonly models: readonly AppliedModel[], private readonly catalog: Catalog) {
    // The behaviour side of the verdict: the 'category' model (an early one may be named category-early10 and the like).
    this.behaviour = models.findLastIndex((m) => m.column === BEHAVIOUR_COLUMN || m.column.startsWith(`${BEHAVIOUR_COLUMN}-`));
    this.app = models.findLastIndex((m, k) => k !== this.behaviour && isApplicationModel(m.model.manifest.classes, catalog));
  }

  classify(rows: readonly CellValue[][], columns: readonly ColumnDef[]): LiveRecord[] {
    if (!rows.length) return [];
    if (this.cols !== columns) {
      this.cols = columns;
      const byName = new Map(columns.map((c, i) => [c.name, i]));
      for (const n of ['id_src_addr', 'id_src_port', 'id_dst_addr', 'id_dst_port', 'id_protocol', 'id_first_ts', 'id_last_ts', 'id_end_reason',
        'fwd_pkts', 'bwd_pkts', 'fwd_bytes', 'bwd_bytes', 'tls_sni', 'name_http_host', 'name_dns', 'tls_alpn', 'tls_alpn_offered', 'tls_ja4']) this.idx[n] = at(byName, n);
      this.names = nameColumns(columns);
    }
    const table = this.models.length ? flowRowsToTable('live', columns, rows) : null;
    const answers = this.models.map((a) => {
      const p = predictColumns(a.model, modelInputs(a.model, table!));
      return { column: a.column, classes: a.model.manifest.classes, p };
    });
    const cell = (r: readonly CellValue[], n: string): CellValue => { const j = this.idx[n]!; return j >= 0 ? r[j] ?? null : null; };
    const str = (r: readonly CellValue[], n: string): string => { const v = cell(r, n); return v === null || v === undefined ? '' : String(v); };
    const num = (r: readonly CellValue[], n: string): number => Number(cell(r, n)) || 0;
    const out: LiveRecord[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const models: LiveRecord['models'] = [];
      let model: ModelAnswer | null = null;
      let app: AppModelAnswer | null = null;
      answers.forEach(({ column, classes, p }, k) => {
        const l = p.label[i]!;
        const label = l < 0 ? 'unknown' : classes[l]!;
        const reason = p.reason[i] ? p.reasonNames[p.reason[i]!]! : '';
        models.push({ column, label, confidence: Math.round(p.confidence[i]! * 1000) / 1000, reason });
        if (k === this.behaviour) model = { label, confidence: p.confidence[i]!, unknownReason: reason };
        if (k === this.app) app = appAnswer(this.catalog, label, p.confidence[i]!, reason);
      });
      const v = verdictCells(namesAt(r, this.names!), this.catalog, model, app);
      const src = str(r, 'id_src_addr'), dst = str(r, 'id_dst_addr');
      const sport = num(r, 'id_src_port'), dport = num(r, 'id_dst_port'), proto = num(r, 'id_protocol'), firstTs = num(r, 'id_first_ts');
      out[i] = {
        kind: this.kind,
        key: `${src}|${sport}|${dst}|${dport}|${proto}|${firstTs}`,
        src, sport, dst, dport, proto, firstTs, lastTs: num(r, 'id_last_ts'),
        packets: num(r, 'fwd_pkts') + num(r, 'bwd_pkts'),
        bytes: num(r, 'fwd_bytes') + num(r, 'bwd_bytes'),
        endReason: str(r, 'id_end_reason'),
        name: str(r, 'tls_sni') || str(r, 'name_http_host') || str(r, 'name_dns'),
        alpn: (str(r, 'tls_alpn') || str(r, 'tls_alpn_offered')).split(',')[0]!,
        ja4: str(r, 'tls_ja4'),
        app: String(v[0] ?? ''), appSource: String(v[1] ?? ''), category: String(v[2] ?? ''), categorySource: String(v[3] ?? ''),
        categoryConfidence: Number(v[4]) || 0,
        models,
      };
    }
    return out;
  }
}

export interface LiveMeterOptions {
  meter: MeterOptions;
  /** Early verdicts at this many packets (0: final verdicts only). */
  early: number;
  /** Rows of ended flows (kind 'final') and of flows at their N-th packet (kind 'early'). */
  onRows: (kind: VerdictKind, rows: CellValue[][], columns: ColumnDef[]) => void;
  /** Rows are handed on in batches of this many, or at `flush()` (the live loop flushes every second). */
  batch?: number;
}

/**
 * The full meter and, with `early`, the cut one, side by side on the same frames. Only flows that reach N packets
 * get an early row (a shorter flow's cut row is its whole flow: its final verdict says it all).
 */
export class LiveMeter {
  readonly full: Meter;
  readonly cut: Meter | null;
  private pending: { final: CellValue[][]; early: CellValue[][] } = { final: [], early: [] };
  private readonly batch: number;

  constructor(private readonly opts: LiveMeterOptions) {
    this.batch = opts.batch ?? 256;
    this.full = new Meter(opts.meter, (row) => this.add('final', row));
    this.cut = opts.early > 0
      ? new Meter({ ...opts.meter, packetLimit: opts.early }, (row, flow) => { if (flow.endReason === 'packets') this.add('early', row); })
      : null;
  }

  private add(kind: VerdictKind, row: CellValue[]): void {
    const list = this.pending[kind];
    list.push(row);
    // A full batch of finals takes the early rows waiting with it, first: a flow's early record precedes its final.
    if (list.length >= this.batch) { if (kind === 'final') this.flush(); else this.flushKind(kind); }
  }

  private flushKind(kind: VerdictKind): void {
    const rows = this.pending[kind];
    if (!rows.length) return;
    this.pending[kind] = [];
    this.opts.onRows(kind, rows, kind === 'final' ? this.full.columns : this.cut!.columns);
  }

  /** Hands on the rows waiting in the batches (early ones first: a flow's early record precedes its final one). */
  flush(): void {
    this.flushKind('early');
    this.flushKind('final');
  }

  frame(f: RawFrame): void {
    // The cut meter first: a flow whose N-th packet ends it gets its early row before its final one.
    if (this.cut !== null) this.cut.frame(f);
    this.full.frame(f);
  }

  /** Ends flows idle past their timeout at wall-clock time `nowUs`. */
  tick(nowUs: number): void {
    this.full.tick(nowUs);
    this.cut?.tick(nowUs);
  }

  /** End of input: every open flow ends; returns the full meter's counters. */
  end(): MeterStats {
    this.cut?.end();
    const s = this.full.end();
    this.flush();
    return s;
  }
}
