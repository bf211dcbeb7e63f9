import { parentPort, workerData } from 'node:worker_threads';
import type { CellValue } from './columns.ts';
import { extractFlows, type MeterOptions } from './meter.ts';

const { path, meter, shard } = workerData as { path: string; meter: MeterOptions; shard: { index: number; count: number } };
let batch: CellValue[][] = [];
let sentColumns = false;
const summary = await extractFlows({ path }, { ...meter, shard }, (row, columns) => {
  if (!sentColumns) { parentPort!.postMessage({ kind: 'columns', columns }); sentColumns = true; }
  batch.push(row);
  if (batch.length >= 512) { parentPort!.postMessage({ kind: 'rows', rows: batch }); batch = []; }
});
if (!sentColumns) parentPort!.postMessage({ kind: 'columns', columns: summary.columns });
if (batch.length) parentPort!.postMessage({ kind: 'rows', rows: batch });
parentPort!.postMessage({ kind: 'done', summary: { ...summary, capture: { ...summary.capture, error: summary.capture.error ? { message: summary.capture.error.message, code: summary.capture.error.code } : null } } });
