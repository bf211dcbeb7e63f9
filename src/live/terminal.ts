import { onStopSignals } from '../core/signals.ts';
import { readCapture, type CaptureSummary } from '../wire/reader.ts';
import { openLiveCapture } from '../wire/live.ts';
import type { CellValue, ColumnDef } from '../flow/columns.ts';
import type { MeterOptions, MeterStats } from '../flow/meter.ts';
import type { Catalog } from '../names/index.ts';
import { FlowClassifier, LiveMeter, type AppliedModel, type LiveRecord } from './classifier.ts';

export interface LiveEarlyOptions {
  iface: string;
  filter?: string;
  /** Early verdict at this many packets. */
  early: number;
  meter: MeterOptions;
  /** Models trained with `--early N` for the same N (the early verdict's behaviour side); may be empty. */
  earlyModels: AppliedModel[];
  catalog: Catalog;
  /** Every ended flow's row, as the full meter writes it (the caller applies its models and writes it out). */
  onFinalRow: (row: CellValue[], columns: ColumnDef[]) => void;
  /** A flow reached its N-th packet: its early verdict. */
  onEarly: (r: LiveRecord) => void;
  onReady?: () => void;
  /** Called every second (the caller flushes its batches). */
  onTick?: () => void;
}

/**
 * `veil classify --interface IFACE --early N`: one thread, the full meter and the cut meter side by side on the
 * capture; each flow's early verdict is handed out at its N-th packet, its row when it ends. Ctrl-C (SIGINT) or
 * SIGTERM stops the capture; open flows then end and are handed out.
 */
export async function classifyLiveEarly(o: LiveEarlyOptions): Promise<MeterStats & { capture: CaptureSummary }> {
  const early = new FlowClassifier('early', o.earlyModels, o.catalog);
  const lm = new LiveMeter({
    meter: { captureName: o.iface, ...o.meter },
    early: o.early,
    batch: 1,
    onRows: (kind, rows, columns) => {
      if (kind === 'final') for (const r of rows) o.onFinalRow(r, columns);
      else for (const r of early.classify(rows, columns)) o.onEarly(r);
    },
  });
  const cap = openLiveCapture({ iface: o.iface, ...(o.filter ? { filter: o.filter } : {}), ...(o.onReady ? { onReady: o.onReady } : {}) });
  // Ctrl-C arrives twice (the terminal's and the bin/veil.js wrapper's copy): the copy must not kill the summary.
  const dispose = onStopSignals(() => { void cap.stop(); });
  const timer = setInterval(() => { lm.tick(Date.now() * 1000); o.onTick?.(); }, 1000);
  try {
    const capture = await readCapture({ stream: cap.stream, name: o.iface }, (f) => lm.frame(f));
    const stats = lm.end();
    return { ...stats, capture };
  } finally {
    clearInterval(timer);
    dispose();
  }
}

/** One early verdict as a terminal line. */
export function earlyLine(r: LiveRecord): string {
  const ep = (a: string, p: number) => `${a.includes(':') ? `[${a}]` : a}:${p}`;
  const proto = ({ 6: 'tcp', 17: 'udp' } as Record<number, string>)[r.proto] ?? String(r.proto);
  const app = r.app ? `${r.app} (${r.appSource})` : '-';
  const cat = `${r.category} (${r.categorySource}${r.categorySource === 'model' ? ` ${r.categoryConfidence.toFixed(2)}` : ''})`;
  return ['early'.padStart(5), ep(r.src, r.sport).padEnd(22), ep(r.dst, r.dport).padEnd(22), proto.padEnd(2), app.slice(0, 24).padEnd(24),
    cat.padEnd(26), `@${r.packets} pkts`.padEnd(10), r.name.slice(0, 28).padEnd(28), r.alpn.padEnd(9), r.ja4].join(' ');
}
