import { decodePacket } from '../wire/decode.ts';
import { readCapture, type CaptureSummary } from '../wire/reader.ts';
import { DecodeStatus, newPacketInfo, type PacketInfo, type RawFrame } from '../wire/types.ts';
import { linkTypeKey } from '../wire/linktypes.ts';
import { Anonymizer } from './anonymize.ts';
import { IDENTITY_COLUMNS, IDENTITY_FIELDS, type CellValue, type ColumnDef, type IdentityContext } from './columns.ts';
import { buildFamilies, DEFAULT_FEATURE_OPTIONS, familyNames, type FeatureFamily, type FeatureOptions } from './features/index.ts';
import { formatAddrAt, type Flow } from './flow.ts';
import { endpointHash, FlowTable, type FlowTableOptions } from './table.ts';

export interface MeterOptions {
  table?: Partial<FlowTableOptions>;
  features?: Partial<FeatureOptions>;
  /** Feature families to compute (default: all). */
  families?: readonly string[];
  /** Written into id_capture. */
  captureName?: string;
  /** Replace addresses by keyed pseudonyms. */
  anonymizeKey?: string | null;
  /** Meter only flows whose symmetric endpoint hash falls in this shard (for --workers). */
  shard?: { index: number; count: number };
  /** Early cut (`--early N`): a flow's row is written at its N-th packet, with every column as of that packet, and
   * its later packets are counted by the table but metered no further (flows shorter than N end as usual). */
  packetLimit?: number;
  /** Hand every flow's row in one reused array (no array per flow): for consumers that encode the row at once and
   * keep nothing of it (the CSV, JSONL and Parquet writers). Every family fills all its cells, so no cell leaks
   * from one flow into the next. */
  reuseRow?: boolean;
}

/** Counters reported at the end of a run. */
export interface MeterStats {
  packets: number;
  bytes: number;
  metered: number;
  flows: number;
  /** Packets not metered, by decode status name (truncated, non-IP, unknown link type, ...). */
  skipped: Record<string, number>;
}

/** States of an ended flow (the families have released theirs). */
const NO_STATES: unknown[] = [];

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(DecodeStatus).map(([k, v]) => [v, k.toLowerCase()]),
);

/**
 * The meter: decoded packets in, one row per ended flow out. Identity columns come first, then each enabled
 * family's columns in registry order.
 *
 * @example
 * const m = new Meter({ captureName: 'x.pcap' }, (row) => rows.push(row));
 * await readCapture({ path: 'x.pcap' }, (f) => m.frame(f));
 * m.end();
 */
export class Meter {
  readonly columns: ColumnDef[];
  // bytes starts as a double (then 0) so that passing 2^30 bytes does not change the field's representation and
  // deoptimize frame() mid-capture.
  readonly stats: MeterStats = { packets: 0, bytes: 2 ** 31, metered: 0, flows: 0, skipped: {} };
  private readonly families: FeatureFamily<any>[];
  private readonly table: FlowTable;
  private readonly pkt: PacketInfo = newPacketInfo();
  private readonly skipCounts = new Float64Array(16);
  /** Packets of link types the decoder does not read, by link type (filled on the skip path only). */
  private readonly unknownLinks = new Map<number, number>();
  private readonly anon: Anonymizer | null;
  /** The row reused for every flow (reuseRow), else null. */
  private readonly reused: CellValue[] | null;
  /** Reused for every flow's identity getters. */
  private readonly identity: IdentityContext;
  private readonly shard: { index: number; count: number } | null;
  private readonly limit: number;

  constructor(opts: MeterOptions, private readonly onRow: (row: CellValue[], flow: Flow) => void) {
    this.stats.bytes = 0;
    const fopts = { ...DEFAULT_FEATURE_OPTIONS, ...opts.features };
    this.families = buildFamilies(opts.families ?? familyNames(), fopts);
    this.columns = columnsOf(this.families);
    this.anon = opts.anonymizeKey ? new Anonymizer(opts.anonymizeKey) : null;
    this.identity = { flowNumber: 0, src: '', dst: '', capture: opts.captureName ?? '' };
    this.reused = opts.reuseRow ? new Array<CellValue>(this.columns.length).fill(null) : null;
    this.shard = opts.shard && opts.shard.count > 1 ? opts.shard : null;
    this.limit = opts.packetLimit && opts.packetLimit > 0 ? Math.floor(opts.packetLimit) : 0;
    const fams = this.families;
    this.table = new FlowTable(
      opts.table ?? {},
      (flow, p) => {
        const states = new Array<unknown>(fams.length);
        for (let i = 0; i < fams.length; i++) states[i] = fams[i]!.init(flow, p);
        flow.states = states;
      },
      (flow) => { if (flow.states !== NO_STATES) this.emit(flow); },
    );
  }

  /** Number of flows currently open. */
  get liveFlows(): number {
    return this.table.live;
  }

  /** One captured frame: decode, find its flow, update every family. Hot path. */
  frame(f: RawFrame): void {
    const p = this.pkt;
    this.stats.packets++;
    this.stats.bytes += f.wireLen;
    const st = decodePacket(f, p);
    if (st !== DecodeStatus.OK && st !== DecodeStatus.OTHER_L4) {
      this.skipCounts[st]!++;
      if (st === DecodeStatus.UNKNOWN_LINKTYPE) this.unknownLinks.set(f.linkType, (this.unknownLinks.get(f.linkType) ?? 0) + 1);
      return;
    }
    if (this.shard !== null && endpointHash(p) % this.shard.count !== this.shard.index) {
      // Another worker meters this packet's flow; its time still ends idle flows here, as in a single thread.
      this.table.advance(p.tsUs);
      return;
    }
    this.stats.metered++;
    const flow = this.table.packet(p);
    const dir = this.table.dir;
    const fams = this.families, states = flow.states;
    if (states === NO_STATES) return; // written at its packet limit
    for (let i = 0; i < fams.length; i++) fams[i]!.update(states[i], flow, p, dir);
    if (this.limit !== 0 && flow.fwdPkts + flow.bwdPkts === this.limit) {
      flow.endReason = 'packets';
      this.emit(flow);
    }
  }

  /** Ends flows idle past their timeout at wall-clock time `nowUs` (live capture calls this on a timer). */
  tick(nowUs: number): void {
    this.table.expire(nowUs);
  }

  /** End of input: flushes every open flow and fills in the skip counters. */
  end(): MeterStats {
    this.table.flush();
    for (let i = 0; i < this.skipCounts.length; i++) {
      if (i === DecodeStatus.UNKNOWN_LINKTYPE) continue;
      if (this.skipCounts[i]! > 0) this.stats.skipped[STATUS_NAMES[i] ?? `status_${i}`] = this.skipCounts[i]!;
    }
    // Undecoded link layers by name: 'unknown_linktype_frame_relay', not a bare count.
    for (const [lt, n] of this.unknownLinks) this.stats.skipped[`unknown_linktype_${linkTypeKey(lt)}`] = n;
    return this.stats;
  }

  private emit(flow: Flow): void {
    const row: CellValue[] = this.reused ?? new Array(this.columns.length);
    const c = this.identity;
    c.src = formatAddrAt(flow.ipVersion, flow.addr, 0);
    c.dst = formatAddrAt(flow.ipVersion, flow.addr, 4);
    if (this.anon) { c.src = this.anon.address(c.src); c.dst = this.anon.address(c.dst); }
    c.flowNumber = ++this.stats.flows;
    for (let i = 0; i < IDENTITY_FIELDS.length; i++) row[i] = IDENTITY_FIELDS[i]![1](flow, c);
    let at = IDENTITY_COLUMNS.length;
    const fams = this.families;
    for (let i = 0; i < fams.length; i++) {
      fams[i]!.finish(flow.states[i], flow, row, at);
      at += fams[i]!.columns.length;
    }
    flow.states = NO_STATES;
    this.onRow(row, flow);
  }
}

function columnsOf(families: readonly FeatureFamily<any>[]): ColumnDef[] {
  return [...IDENTITY_COLUMNS, ...families.flatMap((f) => f.columns)];
}

/**
 * The columns a meter with these options writes, in order, without building one (no flow table; the families'
 * column lists only).
 */
export function meterColumns(opts: Pick<MeterOptions, 'families' | 'features'> = {}): ColumnDef[] {
  return columnsOf(buildFamilies(opts.families ?? familyNames(), { ...DEFAULT_FEATURE_OPTIONS, ...opts.features }));
}

export interface ExtractSummary extends MeterStats {
  capture: CaptureSummary;
  columns: ColumnDef[];
}

/**
 * Meters one capture (a path, '-' for standard input, or a stream) and hands every flow row to `onRow` as the
 * flow ends. Damage in the capture stops reading there; the flows before it are still written and the summary
 * carries the error (naming the file and byte offset).
 */
export async function extractFlows(
  source: { path: string } | { stream: NodeJS.ReadableStream; name: string },
  opts: MeterOptions,
  onRow: (row: CellValue[], columns: ColumnDef[]) => void,
  hooks?: { onProgress?: (bytesRead: number, meter: Meter) => void; signal?: AbortSignal; onMeter?: (m: Meter) => void; maxInflatedBytes?: number },
): Promise<ExtractSummary> {
  const name = 'path' in source ? (source.path === '-' ? 'stdin' : source.path) : source.name;
  const meter: Meter = new Meter({ captureName: captureFileName(name), ...opts }, (row) => onRow(row, meter.columns));
  hooks?.onMeter?.(meter);
  let capture: CaptureSummary;
  try {
    capture = await readCapture(source, (f) => meter.frame(f), {
      onProgress: hooks?.onProgress ? (b) => hooks.onProgress!(b, meter) : undefined,
      signal: hooks?.signal,
      ...(hooks?.maxInflatedBytes !== undefined ? { maxInflatedBytes: hooks.maxInflatedBytes } : {}),
    });
  } catch (err) {
    // An I/O failure mid-file: the flows read so far are still written.
    meter.end();
    throw err;
  }
  const stats = meter.end();
  return { ...stats, capture, columns: meter.columns };
}

/** The file name in a capture path (what id_capture holds). */
export function captureFileName(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i >= 0 ? p.slice(i + 1) : p;
}
