import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ByteWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import {
  DatasetError, Rng, cellValue, deriveSeed, loadTable, makeTable, numberColumn, stringColumn, streamTable, tableToCsv,
  tableToJsonl, tableToParquet, type Table,
} from '../../src/dataset/index.ts';

/**
 * Mutation fuzzing of the flow-table readers (the capture readers' damage tests, test/wire/damage.test.ts, applied
 * to tables). A small, valid table of each format is built in code and mutated (byte flips, truncations,
 * insertions of bytes and of format tokens, duplicated chunks, huge counts), seeded and deterministic. Each mutant
 * is written to a file and read as the service and the CLI read it (loadTable, and streamTable in small chunks);
 * the file is removed as soon as the read ends, as the service removes a refused upload. The contract: a mutant
 * loads, or the reader throws a DatasetError; anything else thrown is a crash, and so is an unhandled rejection
 * arriving after the read ended; a read not settled within the per-mutant bound is a hang.
 */

export const FUZZ_READERS = ['csv', 'csv.gz', 'jsonl', 'jsonl.gz', 'arff', 'arff.gz', 'parquet', 'parquet.gz'] as const;
export type FuzzReader = (typeof FUZZ_READERS)[number];

export interface FuzzFailure {
  index: number;
  mutation: string;
  outcome: 'crash' | 'hang';
  detail: string;
}

export interface FuzzReport {
  reader: FuzzReader;
  mutants: number;
  loaded: number;
  refused: number;
  crashes: number;
  hangs: number;
  /** The slowest mutant: its index, what was done, and its milliseconds. */
  slowest: { index: number; mutation: string; ms: number };
  failures: FuzzFailure[];
}

/** A small flow table: numbers (integers, decimals, missing, infinities), text with quotes and commas, a label. */
function baseTable(): Table {
  const n = 24;
  const num = (f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));
  return makeTable('fuzz', [
    numberColumn('id_flow', num((i) => i + 1)),
    numberColumn('duration_ms', num((i) => (i % 7 === 3 ? NaN : i * 12.5))),
    numberColumn('fwd_pkt_len_mean', num((i) => (i === 5 ? Infinity : 100 + i * 3.25))),
    numberColumn('bwd_pkt_len_max', num((i) => 1400 - i)),
    stringColumn('sni', Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : i % 3 ? `host${i}.example` : 'a, "quoted" host'))),
    stringColumn('app', Array.from({ length: n }, (_, i) => ['web', 'video', 'mail'][i % 3]!)),
  ]);
}

function baseArff(t: Table): string {
  const lines = ['% fuzz base', "@relation 'fuzz flows'", ''];
  for (const c of t.columns) {
    if (c.name === 'app') lines.push(`@attribute app {web,video,mail}`);
    else if (c.kind === 'string') lines.push(`@attribute '${c.name}' string`);
    else lines.push(`@attribute ${c.name} numeric`);
  }
  lines.push('', '@data');
  for (let r = 0; r < t.rows; r++) {
    if (r === 4) { lines.push('{0 5, 3 1395, 5 mail}'); continue; }
    lines.push(t.columns.map((c) => {
      if (c.kind === 'number') { const v = c.values[r]!; return Number.isNaN(v) || !Number.isFinite(v) ? '?' : String(v); }
      const k = c.codes[r]!;
      return k < 0 ? '?' : `'${c.dictionary[k]!.replace(/'/g, "\\'")}'`;
    }).join(','));
  }
  return lines.join('\n') + '\n';
}

/**
 * The table as hyparquet-writer lays it out (statistics, one row group, snappy): the layout of the Parquet
 * regression mutants found before our own writer (flow/parquet-writer.ts) wrote the suite's files.
 */
function hyparquetWriterBytes(t: Table): Buffer {
  const columnData = t.columns.map((c) => ({
    name: c.name,
    data: Array.from({ length: t.rows }, (_, i) => { const v = cellValue(c, i); return typeof v === 'number' && Number.isNaN(v) ? null : v; }),
    type: (c.kind === 'number' ? 'DOUBLE' : 'STRING') as 'DOUBLE' | 'STRING',
    nullable: true,
  }));
  const writer = new ByteWriter();
  const pw = new ParquetWriter({ writer, schema: schemaFromColumnData({ columnData }) });
  pw.write({ columnData });
  pw.finish();
  return Buffer.from(writer.getBytes());
}

/** The valid file of one format, as bytes, and its plain (uncompressed) form for text mutations. */
function baseFile(reader: FuzzReader, parquetLayout: 'ours' | 'hyparquet-writer' = 'ours'): { plain: Buffer; gzip: boolean } {
  const t = baseTable();
  const fmt = reader.replace(/\.gz$/, '');
  const plain = fmt === 'csv' ? Buffer.from(tableToCsv(t))
    : fmt === 'jsonl' ? Buffer.from(tableToJsonl(t))
    : fmt === 'arff' ? Buffer.from(baseArff(t))
    : parquetLayout === 'hyparquet-writer' ? hyparquetWriterBytes(t)
    : Buffer.from(tableToParquet(t));
  return { plain, gzip: reader.endsWith('.gz') };
}

/** Tokens that matter to some reader, inserted whole. */
const TOKENS = [
  '"', "'", ',', '\n', '\r\n', '{', '}', '[', ']', ':', '%', '@data\n', '@attribute x numeric\n', '@attribute y {a,b}\n',
  '{"k":', 'null', 'true', '1e308', '-1e400', 'NaN', '?', '\\', '\u0000', '\uFEFF', '"a\n"b', '0 7,', '{99999999 1}',
  '9'.repeat(40), ',,,,,,,,,,,,,,,,', 'PAR1', '\xff\xff\xff\x7f',
];

/** A mutated copy of `buf` and a description of what was done. */
function mutate(buf: Buffer, r: Rng, binary: boolean): { out: Buffer; what: string } {
  const len = buf.length;
  const at = (): number => r.int(len + 1);
  switch (r.int(binary ? 6 : 7)) {
    case 0: { // byte flips
      const out = Buffer.from(buf);
      const n = 1 + r.int(8);
      for (let i = 0; i < n && len; i++) { const p = r.int(len); out[p] = out[p]! ^ (1 + r.int(255)); }
      return { out, what: `flip ${n}` };
    }
    case 1: { // truncation
      const cut = r.int(len);
      return { out: buf.subarray(0, cut), what: `truncate at ${cut}` };
    }
    case 2: { // random bytes inserted
      const p = at();
      const ins = Buffer.alloc(1 + r.int(16));
      for (let i = 0; i < ins.length; i++) ins[i] = r.int(256);
      return { out: Buffer.concat([buf.subarray(0, p), ins, buf.subarray(p)]), what: `insert ${ins.length} bytes at ${p}` };
    }
    case 3: { // duplicated chunk, sometimes many times
      const from = r.int(len + 1);
      const size = Math.min(len - from, 1 + r.int(256));
      const times = r.int(4) === 0 ? 1 + r.int(200) : 1;
      const p = at();
      const chunk = buf.subarray(from, from + size);
      return { out: Buffer.concat([buf.subarray(0, p), ...Array(times).fill(chunk), buf.subarray(p)]), what: `duplicate ${size} bytes from ${from} x${times} at ${p}` };
    }
    case 4: { // huge count: a run of 0xff or 0x7f bytes (varints, lengths, counts in binary; long numbers in text)
      const out = Buffer.from(buf);
      const p = len ? r.int(len) : 0;
      const n = 1 + r.int(8);
      const v = [0xff, 0x7f, 0x80, 0x00][r.int(4)]!;
      for (let i = p; i < Math.min(len, p + n); i++) out[i] = v;
      return { out, what: `set ${n} bytes to 0x${v.toString(16)} at ${p}` };
    }
    case 5: { // a token (or a huge run of one) inserted
      const tok = TOKENS[r.int(TOKENS.length)]!;
      const times = r.int(5) === 0 ? 1 + r.int(5000) : 1;
      const p = at();
      return { out: Buffer.concat([buf.subarray(0, p), Buffer.from(tok.repeat(times), 'latin1'), buf.subarray(p)]), what: `insert ${JSON.stringify(tok.slice(0, 12))} x${times} at ${p}` };
    }
    default: { // text only: a number made huge or absurd
      const s = buf.toString('latin1');
      const m = [...s.matchAll(/\d+(\.\d+)?/g)];
      if (!m.length) return { out: buf, what: 'no number' };
      const hit = m[r.int(m.length)]!;
      const rep = ['1e309', '-0', '99999999999999999999999', '0x7fffffff', '4294967296', '-1', '1'.repeat(400)][r.int(7)]!;
      const out = s.slice(0, hit.index) + rep + s.slice(hit.index! + hit[0].length);
      return { out: Buffer.from(out, 'latin1'), what: `number at ${hit.index} -> ${rep.slice(0, 12)}` };
    }
  }
}

/**
 * Runs `count` mutants of one reader's base file. Mutants of a `.gz` reader are the plain file mutated then
 * gzipped (the inflated text is damaged) or the gzip mutated (the stream is damaged), alternately.
 */
/** The bytes of mutant `index` of a reader (to reproduce a failure outside the run). */
export function fuzzMutant(reader: FuzzReader, index: number, seed = 20261203,
  parquetLayout: 'ours' | 'hyparquet-writer' = 'ours'): { bytes: Buffer; what: string } {
  const { plain, gzip } = baseFile(reader, parquetLayout);
  const r = new Rng(deriveSeed(seed, index, FUZZ_READERS.indexOf(reader)));
  if (gzip && index % 2 === 0) {
    const m = mutate(gzipSync(plain), r, true);
    return { bytes: m.out, what: `gzip ${m.what}` };
  }
  const m = mutate(plain, r, reader.startsWith('parquet'));
  return { bytes: gzip ? gzipSync(m.out) : m.out, what: m.what };
}

export async function fuzzReader(reader: FuzzReader, count: number, opts: { seed?: number; timeoutMs?: number } = {}): Promise<FuzzReport> {
  const seed = opts.seed ?? 20261203;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-fuzz-'));
  const report: FuzzReport = { reader, mutants: 0, loaded: 0, refused: 0, crashes: 0, hangs: 0, slowest: { index: -1, mutation: '', ms: 0 }, failures: [] };
  let current: { index: number; what: string } = { index: -1, what: '' };
  const strays: FuzzFailure[] = [];
  const onUnhandled = (reason: unknown): void => {
    strays.push({ index: current.index, mutation: current.what, outcome: 'crash', detail: `unhandled rejection: ${describe(reason)}` });
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    for (let i = 0; i < count; i++) {
      const { bytes, what } = fuzzMutant(reader, i, seed);
      current = { index: i, what };
      if (process.env.FUZZ_TRACE === '2') console.error(`#${i} ${what}`);
      const file = path.join(dir, `m${i}.${reader}`);
      writeFileSync(file, bytes);
      report.mutants++;
      const t0 = performance.now();
      const outcome = await readWithin(file, i % 2 === 0, timeoutMs);
      const ms = performance.now() - t0;
      if (ms > report.slowest.ms) report.slowest = { index: i, mutation: what, ms: Math.round(ms) };
      rmSync(file, { force: true });
      if (outcome.kind === 'loaded') report.loaded++;
      else if (outcome.kind === 'refused') report.refused++;
      else {
        if (process.env.FUZZ_TRACE) console.error(`#${i} ${outcome.kind} ${what}`);
        if (outcome.kind === 'crash') report.crashes++;
        else report.hangs++;
        report.failures.push({ index: i, mutation: what, outcome: outcome.kind, detail: outcome.detail });
      }
    }
    // Reads left dangling by a reader fail once their file is gone: give them a moment to surface.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off('unhandledRejection', onUnhandled);
    rmSync(dir, { recursive: true, force: true });
  }
  report.crashes += strays.length;
  report.failures.push(...strays);
  return report;
}

type Outcome = { kind: 'loaded' } | { kind: 'refused' } | { kind: 'crash'; detail: string } | { kind: 'hang'; detail: string };

async function readWithin(file: string, whole: boolean, timeoutMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const read = (async (): Promise<Outcome> => {
    // A Parquet window of this small table decodes in milliseconds: a few seconds means a runaway decode.
    const limits = { parquetWindowMs: Math.min(3000, timeoutMs / 2) };
    if (whole) await loadTable(file, { columnOrder: 'keep', warn: () => {}, limits });
    else for await (const _ of streamTable(file, { chunkRows: 7, warn: () => {}, limits })) { /* drain */ }
    return { kind: 'loaded' };
  })().catch((e: unknown): Outcome => (e instanceof DatasetError ? { kind: 'refused' } : { kind: 'crash', detail: describe(e) }));
  const hang = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'hang', detail: `not settled after ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([read, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message.slice(0, 300)}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return String(e);
}
