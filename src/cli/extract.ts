import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { extractFlows, meterColumns, type ExtractSummary, type MeterOptions } from '../flow/meter.ts';
import { formatFor, openWriter, type RowWriter } from '../flow/output.ts';
import { familyNames } from '../flow/features/index.ts';
import { extractParallel } from '../flow/parallel.ts';
import { VeilError } from '../core/errors.ts';
import { captureTotalBytes } from '../wire/reader.ts';
import { formatRate, Progress } from './progress.ts';
import { onStopSignals } from '../core/signals.ts';

const HELP = `usage: veil extract CAPTURE... [options]      (CAPTURE '-' reads standard input)
       veil extract --interface IFACE [--filter BPF] [options]

Reads pcap/pcapng captures and writes one row per bidirectional flow.

  -o, --output FILE        output file (default: standard output); format from the extension
      --format F           csv | jsonl | parquet (overrides the extension)
      --features LIST      feature families to compute, comma-separated (default: all: ${familyNames().join(',')})
      --idle-timeout S     end a flow after S seconds without packets (default 120)
      --active-timeout S   end a flow after S seconds whatever happens (default 1800)
      --activity-timeout S gap that ends an active period (default 5)
      --sequence-length N  early packets recorded by the sequence family (default 20)
      --anonymize          replace addresses by keyed pseudonyms (key: --anonymize-key or $VEIL_ANON_KEY)
      --anonymize-key K    key for --anonymize
      --workers N          shard flows over N worker threads (files only); each learns DNS answers only from the
                           flows it meters, so name_dns is sparser than with one thread
  -i, --interface IFACE    capture live from IFACE (runs tcpdump or dumpcap); flows are written as they end
      --filter BPF         capture filter for --interface
      --early N            write each flow as of its N-th packet (id_end_reason 'packets'; shorter flows at their
                           end): the table 'veil train --early N' learns early verdicts from
      --verdict            append each flow's name verdict (app, app_source, category, category_source,
                           category_confidence) from the shipped service catalogue (docs/SERVICES.md)
      --catalog FILE       your service catalogue merged over the shipped one, yours winning (repeatable; implies --verdict)
  -q, --quiet              no progress bar and no summary
`;

export interface CommonExtractArgs {
  meter: MeterOptions;
  workers: number;
}

/** Parses the meter options shared by extract, predict and classify. */
export function meterOptionsFrom(v: Record<string, string | boolean | undefined>): MeterOptions {
  const num = (name: string, dflt: number): number => {
    const s = v[name];
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) throw new VeilError('BAD_ARGUMENT', `--${name} must be a positive number, got '${String(s)}'`);
    return n;
  };
  let anonymizeKey: string | null = null;
  if (v.anonymize) {
    anonymizeKey = (v['anonymize-key'] as string | undefined) ?? process.env.VEIL_ANON_KEY ?? null;
    if (!anonymizeKey) {
      anonymizeKey = randomBytes(16).toString('hex');
      process.stderr.write('veil: --anonymize without a key: using a random one, so pseudonyms will not match other runs\n');
    }
  }
  const families = typeof v.features === 'string' ? v.features.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  return {
    table: {
      idleTimeoutUs: num('idle-timeout', 120) * 1e6,
      activeTimeoutUs: num('active-timeout', 1800) * 1e6,
    },
    features: {
      activityTimeoutUs: num('activity-timeout', 5) * 1e6,
      sequenceLength: Math.round(num('sequence-length', 20)),
    },
    families,
    anonymizeKey,
  };
}

export const METER_ARG_OPTIONS = {
  features: { type: 'string' },
  'idle-timeout': { type: 'string' },
  'active-timeout': { type: 'string' },
  'activity-timeout': { type: 'string' },
  'sequence-length': { type: 'string' },
  anonymize: { type: 'boolean' },
  'anonymize-key': { type: 'string' },
  workers: { type: 'string' },
  interface: { type: 'string', short: 'i' },
  filter: { type: 'string' },
  early: { type: 'string' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...METER_ARG_OPTIONS,
      output: { type: 'string', short: 'o' },
      format: { type: 'string' },
      verdict: { type: 'boolean' },
      catalog: { type: 'string', multiple: true },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (positionals.length === 0 && !v.interface) { process.stderr.write(HELP); return 2; }
  const { catalog, ...flags } = v;
  const meter = meterOptionsFrom(flags);
  if (v.early !== undefined) meter.packetLimit = (await import('../live/early.ts')).earlyPackets(v.early);
  const verdict = v.verdict || catalog?.length ? (await import('../dataset/verdict.ts')) : null;
  const cat = verdict ? (await import('../names/index.ts')).loadCatalog(catalog ?? []) : null;
  const out = v.output ?? '-';
  const format = formatFor(out, v.format);
  const quiet = Boolean(v.quiet);
  const workers = v.workers ? Math.max(1, Math.floor(Number(v.workers))) : 1;

  if (v.interface) return runLive(v.interface, v.filter, meter, out, format, quiet, verdict && cat ? (w) => verdict.withVerdict(cat, w) : null);

  let writer: RowWriter | null = null;
  let failures = 0;
  /** Inputs of which not one packet was read (missing, a directory, not a capture). */
  let unread = 0;
  const totals = { packets: 0, flows: 0, skipped: {} as Record<string, number> };
  const progress = new Progress('extract', !quiet && Boolean(process.stderr.isTTY));
  for (const input of positionals) {
    const t0 = Date.now();
    let summary: ExtractSummary;
    const plain = (row: readonly (string | number | boolean | null)[], columns: Parameters<typeof openWriter>[2]) => {
      writer ??= openWriter(out, format, columns);
      writer.write(row);
    };
    const onRow = verdict && cat ? verdict.withVerdict(cat, plain) : plain;
    try {
      if (workers > 1 && input !== '-') {
        // Verdict columns are added on this thread, so workers hand over rows rather than formatted bytes.
        summary = await extractParallel(input, meter, workers, format === 'parquet' || verdict ? { kind: 'rows', write: onRow } : {
          kind: 'bytes', format, write: (chunk, columns) => { writer ??= openWriter(out, format, columns); writer.writeRaw!(chunk); },
        });
      } else {
        const total = input === '-' ? null : await captureTotalBytes(input).catch(() => null);
        // The writers encode a row at once: one reused row array unless the verdict wrapper sees it first.
        summary = await extractFlows({ path: input }, verdict ? meter : { ...meter, reuseRow: true }, onRow, {
          onProgress: (bytes, m) => progress.update(bytes, total, `${formatRate(m.stats.packets / Math.max(0.001, (Date.now() - t0) / 1000))} pkt/s  ${m.stats.flows} flows`),
        });
      }
    } catch (err) {
      progress.done();
      if ((err as VeilError).userFacing) {
        process.stderr.write(`veil: ${(err as Error).message}\n`);
        failures++;
        unread++;
        continue;
      }
      throw err;
    }
    progress.done();
    totals.packets += summary.packets;
    totals.flows += summary.flows;
    for (const [k, n] of Object.entries(summary.skipped)) totals.skipped[k] = (totals.skipped[k] ?? 0) + n;
    if (summary.capture.error) {
      failures++;
      if (summary.packets === 0) unread++;
      process.stderr.write(`veil: ${summary.capture.error.message}${summary.flows ? `; the ${summary.flows} flows before it were written` : ''}\n`);
    }
    if (!quiet) {
      const secs = (Date.now() - t0) / 1000;
      process.stderr.write(`${input}: ${summary.packets} packets, ${summary.flows} flows, ${summary.metered} metered, ` +
        `${formatSkipped(summary.skipped)} in ${secs.toFixed(2)} s\n`);
    }
  }
  if (!writer && unread === positionals.length) {
    // Nothing could be read at all (no such file, not a capture): no output file, the error says why.
    return 1;
  }
  if (!writer) {
    // No flow at all: still write a header so the output is a valid (empty) table.
    const columns = meterColumns(meter);
    writer = openWriter(out, format, verdict ? [...columns, ...verdict.VERDICT_COLUMNS] : columns);
  }
  await (writer as RowWriter).close();
  if (!quiet && positionals.length > 1) {
    process.stderr.write(`total: ${totals.packets} packets, ${totals.flows} flows, ${formatSkipped(totals.skipped)}\n`);
  }
  return failures > 0 ? 1 : 0;
}

export function formatSkipped(s: Record<string, number>): string {
  const e = Object.entries(s);
  return e.length ? `not metered: ${e.map(([k, n]) => `${k} ${n}`).join(', ')}` : 'all packets metered';
}

type RowSink = (row: import('../flow/columns.ts').CellValue[], columns: import('../flow/columns.ts').ColumnDef[]) => void;

async function runLive(iface: string, filter: string | undefined, meter: MeterOptions, out: string,
  format: ReturnType<typeof formatFor>, quiet: boolean, wrap: ((w: RowSink) => (row: import('../flow/columns.ts').CellValue[], columns: readonly import('../flow/columns.ts').ColumnDef[]) => void) | null): Promise<number> {
  const { openLiveCapture } = await import('../wire/live.ts');
  const cap = openLiveCapture({ iface, filter, onReady: () => { if (!quiet) process.stderr.write(`veil: capturing on ${iface}${filter ? ` (${filter})` : ''}; flows are written as they end\n`); } });
  let writer: RowWriter | null = null;
  const dispose = onStopSignals(() => { void cap.stop(); });
  let timer: NodeJS.Timeout | null = null;
  const write: RowSink = (row, columns) => {
    if (!writer) {
      writer = openWriter(out, format, columns);
      if ('flushEach' in writer) (writer as { flushEach: boolean }).flushEach = true;
    }
    writer.write(row);
  };
  const summary = await extractFlows({ stream: cap.stream, name: iface }, { captureName: iface, ...meter }, wrap ? wrap(write) : write, {
    onMeter: (m) => { timer = setInterval(() => m.tick(Date.now() * 1000), 1000); },
  });
  if (timer) clearInterval(timer);
  dispose();
  if (writer) await (writer as RowWriter).close();
  if (!quiet) process.stderr.write(`${iface}: ${summary.packets} packets, ${summary.flows} flows, ${formatSkipped(summary.skipped)}\n`);
  return summary.capture.error && summary.capture.error.code !== 'TRUNCATED' ? 1 : 0;
}
