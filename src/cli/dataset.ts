import { parseArgs } from 'node:util';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseLabelFrom, readLabelEntries, readRules, type Labeller } from '../dataset/labels.ts';
import { labelCaptures } from '../learn/pipeline.ts';
import { VeilError } from '../core/errors.ts';
import { METER_ARG_OPTIONS, meterOptionsFrom, formatSkipped } from './extract.ts';
import { Progress } from './progress.ts';

const HELP = `usage: veil dataset build CAPTURE|DIR... -o OUT [options]

Meters captures and writes a labelled flow table for 'veil train', with id_capture as the group column for honest
(grouped) splits. Labels, in order of precedence:
      --labels CSV         capture,label plus src,sport,dst,dport[,proto] (either direction) or start,end (epoch s)
      --rules FILE         YAML/JSON rules on handshake metadata: [{ label, sni, alpn, ja4 }] with * globs or /regex/;
                           the columns a rule reads (SNI and certificate names, ALPN, JA4) are dropped from the table,
                           so a model learns the application from behaviour, not from its name
      --label-from WHAT    dir (captures/netflix/x.pcap -> netflix), name (netflix-3.pcap -> netflix),
                           names:app (or names) / names:category: the application or category the flow's own names
                           show (server name, certificate, HTTP Host, DNS answer, strong port convention) through the
                           service catalogue; a flow cut by a timeout inherits its connection's earlier name; flows
                           no name labels are dropped. The name columns are kept but never learnt from (leaky role).
                           none: only --labels and --rules. The default is dir without --labels/--rules and none
                           with them: a flow no label or rule matches is dropped, not labelled with its folder's
                           name (give --label-from dir for that)
      --catalog FILE       your own services for names labels (repeatable; same schema as the shipped catalogue)
      --keep-unlabelled    keep flows no label applies to (label empty); dropped by default
  -o, --output FILE        CSV, JSONL or Parquet by extension
Meter options as for 'veil extract' (--idle-timeout, --features, ...).
`;

const CAPTURE = /\.(pcap|pcapng|cap)$/i;

function captures(inputs: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    let st;
    try { st = statSync(p); } catch { throw new VeilError('NOT_FOUND', `${p}: no such file or directory`); }
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) { const q = path.join(p, e); if (statSync(q).isDirectory() || CAPTURE.test(e)) walk(q); }
    else out.push(p);
  };
  inputs.forEach(walk);
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'build') { process.stdout.write(HELP); return sub === '--help' || sub === '-h' ? 0 : 2; }
  const { values: v, positionals } = parseArgs({
    args: rest, allowPositionals: true,
    options: {
      ...METER_ARG_OPTIONS,
      output: { type: 'string', short: 'o' }, format: { type: 'string' }, labels: { type: 'string' }, rules: { type: 'string' },
      'label-from': { type: 'string' }, catalog: { type: 'string', multiple: true }, 'keep-unlabelled': { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (!positionals.length || !v.output) { process.stderr.write(HELP); return 2; }
  // With labels or rules, the path is a fallback only when asked for: otherwise every flow they miss would become
  // a class named after its folder (285 of 452 rows labelled 'caps').
  const from = parseLabelFrom(v['label-from'] ?? (v.rules || v.labels ? 'none' : 'dir'));
  if (!from) throw new VeilError('BAD_ARGUMENT', `--label-from must be dir, name, names:app, names:category or none, got '${v['label-from']}'`);
  const labeller: Labeller = { rules: v.rules ? readRules(v.rules) : [], entries: v.labels ? readLabelEntries(v.labels) : [], from, ruleColumns: [] };
  const meter = meterOptionsFrom({ ...v, catalog: undefined });
  if (labeller.rules.length && meter.families && !meter.families.includes('handshake')) {
    throw new VeilError('BAD_ARGUMENT', '--rules read handshake metadata: keep the handshake family in --features');
  }
  const files = captures(positionals);
  const progress = new Progress('dataset build', !v.quiet && Boolean(process.stderr.isTTY));
  let out;
  try {
    out = await labelCaptures(files.map((f) => ({ path: f })), v.output, {
      labeller, catalogFiles: v.catalog ?? [], meter, ...(v.format ? { format: v.format } : {}), keepUnlabelled: Boolean(v['keep-unlabelled']),
      onProgress: (done, total, flows, fi) => progress.update(done, total, `${Math.min(fi + 1, files.length)}/${files.length} captures  ${flows} flows`),
      onCapture: (c, o) => {
        progress.done();
        if ('error' in o) { process.stderr.write(`veil: ${o.error.message}\n`); return; }
        if (o.damage) process.stderr.write(`veil: ${o.damage}; the flows before it were kept\n`);
        if (!v.quiet) process.stderr.write(`${c.path}: ${o.flows} flows, ${formatSkipped(o.skipped)}\n`);
      },
    });
  } finally {
    progress.done();
  }
  const { counts, unlabelled, failures } = out;
  if (!v.quiet) {
    process.stderr.write(`labelled flows: ${[...counts].sort((a, b) => b[1] - a[1]).map(([l, n]) => `${l || '(none)'} ${n}`).join(', ') || 'none'}` +
      `${unlabelled ? `; ${unlabelled} unlabelled flows ${v['keep-unlabelled'] ? 'kept' : 'dropped'}` : ''}\n`);
    if (labeller.ruleColumns.length) process.stderr.write(`dropped the columns the rules read: ${labeller.ruleColumns.join(', ')}\n`);
  }
  return failures ? 1 : 0;
}
