/**
 * A labelled flow table from the real captures of ../shared/data (nDPI's test captures, the JA4 reference captures,
 * Wireshark's test captures, the mobile-app captures): every flow metered with all feature families, its category
 * taken from its own name verdict against the shipped service catalogue (server name, certificate, HTTP Host, port
 * convention, DNS answer). Flows without a name are left out, and so are flows that only a weak port convention
 * (HTTPS on tcp/443, HTTP on tcp/80) names: that is a guess about the category, not a name. The verdict is kept beside the label in `name_verdict_*`
 * columns, which learning excludes (leaky: `name_*`), and `id_capture` holds the capture's path under the data folder
 * (unique across folders) for grouped splits.
 *
 *   node --import tsx bench/real-labels.ts [-o FILE.csv] [--data DIR] [--dirs ndpi/pcap,ja4/pcap,...] [--sources sni,quic,cert,http,dns,port,flow]
 *        [--active-timeout 15] [--idle-timeout 15] [--min-confidence 0]
 *
 * Flows are cut as `veil classify` cuts them for the shipped ISCX models (15 s active and idle timeouts by default), so the same
 * rows can be scored by both. When a flow is cut by the active or idle timeout, the next flow on the same 5-tuple in the same
 * capture (the same connection, its handshake no longer in view) inherits the earlier part's verdict, with source
 * `flow`: these are exactly the flows whose names are hidden, where a behaviour model is needed.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { extractFlows } from '../src/flow/meter.ts';
import { openWriter } from '../src/flow/output.ts';
import { col, type CellValue, type ColumnDef } from '../src/flow/columns.ts';
import { loadCatalog, type Catalog } from '../src/names/index.ts';
import { CaptureNameLabeller, NAME_LABEL_SOURCES } from '../src/dataset/name-labels.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SHARED_DATA = path.resolve(HERE, '../../shared/data');
/** The folders of ../shared/data that hold captures, and where in them. */
export const CAPTURE_DIRS = ['ndpi/pcap', 'ja4/pcap', 'wireshark-captures/test/captures', 'mobile-apps'];
export const LABEL_SOURCES = NAME_LABEL_SOURCES;
/** Columns the builder adds after the meter's: the label and the verdict it came from (leaky by name). */
export const LABEL_COLUMN = 'category';
export const VERDICT_COLUMNS = ['name_verdict_app', 'name_verdict_source', 'name_verdict_evidence', 'name_verdict_confidence'];

/** Capture files under the data folder, as paths relative to it, sorted; duplicates by content dropped. */
export function captureFiles(data: string, dirs = CAPTURE_DIRS): { files: string[]; duplicates: string[] } {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(data, rel);
    if (!existsSync(abs)) return;
    for (const e of readdirSync(abs).sort()) {
      const r = path.join(rel, e);
      const st = statSync(path.join(data, r));
      if (st.isDirectory()) walk(r);
      else if (/\.(pcap|pcapng|cap)(\.gz)?$/i.test(e)) out.push(r);
    }
  };
  for (const d of dirs) walk(d);
  const seen = new Set<string>();
  const files: string[] = [], duplicates: string[] = [];
  for (const f of out) {
    const h = createHash('sha1').update(readFileSync(path.join(data, f))).digest('hex');
    if (seen.has(h)) duplicates.push(f);
    else { seen.add(h); files.push(f); }
  }
  return { files, duplicates };
}

export interface BuildOptions {
  data?: string;
  output: string;
  sources?: readonly string[];
  activeTimeoutS?: number;
  idleTimeoutS?: number;
  minConfidence?: number;
  /** Cut every flow at its N-th packet (`veil extract --early N`): the table an early model learns from. */
  early?: number;
  catalog?: Catalog;
  files?: string[];
  /** Folders under `data` to read (default CAPTURE_DIRS). */
  dirs?: string[];
  log?: (s: string) => void;
}

export interface BuildSummary {
  captures: number;
  duplicates: string[];
  failed: string[];
  flows: number;
  labelled: number;
  /** Labelled rows by source and category. */
  counts: Record<string, Record<string, number>>;
  columns: string[];
}

/** Meters the captures and writes the labelled rows (see the file comment). */
export async function buildRealTable(o: BuildOptions): Promise<BuildSummary> {
  const data = o.data ?? SHARED_DATA;
  const sources = new Set(o.sources ?? LABEL_SOURCES);
  const cat = o.catalog ?? loadCatalog([]);
  const { files, duplicates } = o.files ? { files: o.files, duplicates: [] } : captureFiles(data, o.dirs);
  const table = { activeTimeoutUs: (o.activeTimeoutS ?? 15) * 1e6, idleTimeoutUs: (o.idleTimeoutS ?? 15) * 1e6 };
  const extra: ColumnDef[] = [
    col(LABEL_COLUMN, 'metadata', 'string', '', 'none', 'Category of the flow from its own name verdict (the label)'),
    col('name_verdict_app', 'metadata', 'string', '', 'none', 'Service the names named'),
    col('name_verdict_source', 'metadata', 'string', '', 'none', 'Where the label came from: sni, quic, cert, http, dns, port, flow (earlier part of the same connection)'),
    col('name_verdict_evidence', 'metadata', 'string', '', 'none', 'The name or port rule that decided'),
    col('name_verdict_confidence', 'metadata', 'float', '', 'none', 'Trust in the source'),
  ];
  let writer: ReturnType<typeof openWriter> | null = null;
  let columns: ColumnDef[] = [];
  const summary: BuildSummary = { captures: 0, duplicates, failed: [], flows: 0, labelled: 0, counts: {}, columns: [] };
  for (const f of files) {
    // The names label of each flow; a flow cut by a timeout hands its name to its connection's next part.
    let labeller: CaptureNameLabeller | null = null;
    try {
      await extractFlows({ path: path.join(data, f) }, { captureName: f, table, ...(o.early ? { packetLimit: o.early } : {}) }, (row, cols) => {
        if (!writer) {
          columns = [...cols, ...extra];
          writer = openWriter(o.output, 'csv', columns);
          summary.columns = columns.map((c) => c.name);
        }
        labeller ??= new CaptureNameLabeller(cat, cols);
        summary.flows++;
        const label = labeller.label(row);
        if (!label || !sources.has(label.source) || label.confidence < (o.minConfidence ?? 0)) return;
        summary.labelled++;
        const c = (summary.counts[label.source] ??= {});
        c[label.category] = (c[label.category] ?? 0) + 1;
        const out: CellValue[] = [...row, label.category, label.app, label.source, label.evidence, label.confidence];
        writer.write(out);
      });
      summary.captures++;
    } catch (e) {
      summary.failed.push(`${f}: ${(e as Error).message}`);
    }
  }
  if (writer) await (writer as ReturnType<typeof openWriter>).close();
  return summary;
}

export function formatCounts(s: BuildSummary): string {
  const cats = [...new Set(Object.values(s.counts).flatMap((c) => Object.keys(c)))].sort();
  const srcs = Object.keys(s.counts);
  const lines = [`| category | ${srcs.join(' | ')} | all |`, `|---|${srcs.map(() => '---|').join('')}---|`];
  for (const c of cats) {
    const n = srcs.map((x) => s.counts[x]![c] ?? 0);
    lines.push(`| ${c} | ${n.join(' | ')} | ${n.reduce((a, b) => a + b, 0)} |`);
  }
  const tot = srcs.map((x) => Object.values(s.counts[x]!).reduce((a, b) => a + b, 0));
  lines.push(`| all | ${tot.join(' | ')} | ${tot.reduce((a, b) => a + b, 0)} |`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { values: v } = parseArgs({
    options: {
      output: { type: 'string', short: 'o', default: 'real-flows.csv' },
      data: { type: 'string' },
      dirs: { type: 'string' },
      sources: { type: 'string' },
      'active-timeout': { type: 'string', default: '15' },
      'idle-timeout': { type: 'string', default: '15' },
      'min-confidence': { type: 'string', default: '0' },
      early: { type: 'string' },
    },
  });
  const t0 = performance.now();
  const s = await buildRealTable({
    output: v.output!, ...(v.data ? { data: v.data } : {}), ...(v.sources ? { sources: v.sources.split(',') } : {}), ...(v.dirs ? { dirs: v.dirs.split(',') } : {}),
    activeTimeoutS: Number(v['active-timeout']), idleTimeoutS: Number(v['idle-timeout']), minConfidence: Number(v['min-confidence']), ...(v.early ? { early: Number(v.early) } : {}),
  });
  process.stderr.write(`${s.captures} captures (${s.duplicates.length} duplicates by content skipped, ${s.failed.length} failed), ${s.flows} flows, ${s.labelled} labelled -> ${v.output} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  for (const f of s.failed) process.stderr.write(`  failed: ${f}\n`);
  process.stdout.write(formatCounts(s) + '\n');
}
