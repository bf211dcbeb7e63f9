import { Worker } from 'node:worker_threads';
import { stat } from 'node:fs/promises';
import type { CellValue, ColumnDef } from './columns.ts';
import type { ExtractSummary, MeterOptions } from './meter.ts';

/**
 * `--workers N`: every worker thread reads the whole file (reading is cheap, from the page cache) and meters only
 * the flows whose symmetric endpoint hash falls in its shard, so no packet crosses threads; rows come back in
 * batches. The row order differs from a single-threaded run, the set of rows does not (except id_flow numbers).
 */
export async function extractParallel(
  path: string,
  meter: MeterOptions,
  workers: number,
  onRow: (row: CellValue[], columns: ColumnDef[]) => void,
): Promise<ExtractSummary> {
  await stat(path);
  let flowNo = 0;
  const results = await Promise.all(Array.from({ length: workers }, (_, index) => new Promise<ExtractSummary>((resolve, reject) => {
    const w = new Worker(new URL('./parallel-worker.ts', import.meta.url), {
      workerData: { path, meter, shard: { index, count: workers } },
      execArgv: ['--import', 'tsx'],
    });
    let columns: ColumnDef[] = [];
    w.on('message', (m: { kind: 'columns'; columns: ColumnDef[] } | { kind: 'rows'; rows: CellValue[][] } | { kind: 'done'; summary: ExtractSummary }) => {
      if (m.kind === 'columns') columns = m.columns;
      else if (m.kind === 'rows') for (const r of m.rows) { r[0] = ++flowNo; onRow(r, columns); }
      else resolve(m.summary);
    });
    w.on('error', reject);
    w.on('exit', (code) => { if (code !== 0) reject(new Error(`flow worker ${index} exited with code ${code}`)); });
  })));
  const first = results[0]!;
  const total: ExtractSummary = { ...first, packets: first.packets, flows: 0, metered: 0, skipped: {} };
  for (const r of results) {
    total.flows += r.flows;
    total.metered += r.metered;
  }
  // Every worker decodes every packet, so skip counts are the same in each: take the first's.
  total.skipped = first.skipped;
  return total;
}
