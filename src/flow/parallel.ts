import { Worker } from 'node:worker_threads';
import { stat } from 'node:fs/promises';
import type { CellValue, ColumnDef } from './columns.ts';
import type { ExtractSummary, MeterOptions } from './meter.ts';

/** What the main thread does with a worker's output: text bytes (CSV/JSONL, already formatted) or rows. */
export type ParallelSink =
  | { kind: 'bytes'; format: 'csv' | 'jsonl'; write: (chunk: Buffer, columns: ColumnDef[]) => void }
  | { kind: 'rows'; write: (row: CellValue[], columns: ColumnDef[]) => void };

/**
 * `--workers N`: every worker thread reads the whole file (reading and decoding are cheap) and meters only the
 * flows whose symmetric endpoint hash falls in its shard, so no packet crosses threads. Each worker still
 * advances its clock with every packet, so flows end exactly where a single thread would end them. CSV and JSONL
 * are formatted in the workers and arrive as bytes; Parquet rows arrive as rows. The row order differs from a
 * single thread's; id_flow is unique (shard-interleaved numbering), the rows are otherwise the same.
 */
export async function extractParallel(path: string, meter: MeterOptions, workers: number, sink: ParallelSink): Promise<ExtractSummary> {
  await stat(path);
  const results = await Promise.all(Array.from({ length: workers }, (_, index) => new Promise<ExtractSummary>((resolve, reject) => {
    const w = new Worker(new URL('./parallel-boot.mjs', import.meta.url), {
      workerData: { path, meter, shard: { index, count: workers }, format: sink.kind === 'bytes' ? sink.format : null },
      // Flow state outlives many scavenges: a larger young generation halves GC time (as bin/veil.js does).
      resourceLimits: { maxYoungGenerationSizeMb: 192 },
    });
    let columns: ColumnDef[] = [];
    w.on('message', (m: { kind: 'columns'; columns: ColumnDef[] } | { kind: 'rows'; rows: CellValue[][] } | { kind: 'bytes'; chunk: Uint8Array } | { kind: 'done'; summary: ExtractSummary }) => {
      if (m.kind === 'columns') columns = m.columns;
      else if (m.kind === 'bytes') { if (sink.kind === 'bytes') sink.write(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength), columns); }
      else if (m.kind === 'rows') { if (sink.kind === 'rows') for (const r of m.rows) sink.write(r, columns); }
      else resolve(m.summary);
    });
    w.on('error', reject);
    w.on('exit', (code) => { if (code !== 0) reject(new Error(`flow worker ${index} exited with code ${code}`)); });
  })));
  const first = results[0]!;
  const total: ExtractSummary = { ...first, flows: 0, metered: 0 };
  for (const r of results) {
    total.flows += r.flows;
    total.metered += r.metered;
  }
  // Every worker decodes every packet, so packet and skip counts are the same in each: the first's stand.
  return total;
}
