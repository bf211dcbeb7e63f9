import { parentPort, workerData } from 'node:worker_threads';
import type { CellValue } from './columns.ts';
import { extractFlows, type MeterOptions } from './meter.ts';
import { openChunkWriter, type RowWriter } from './output.ts';

const { path, meter, shard, format } = workerData as {
  path: string; meter: MeterOptions; shard: { index: number; count: number }; format: 'csv' | 'jsonl' | null;
};
const port = parentPort!;
let rows: CellValue[][] = [];
let writer: RowWriter | null = null;
let sentColumns = false;
const summary = await extractFlows({ path }, { ...meter, shard }, (row, columns) => {
  if (!sentColumns) {
    port.postMessage({ kind: 'columns', columns });
    sentColumns = true;
    if (format) writer = openChunkWriter(format, columns, (chunk) => {
      const copy = new Uint8Array(chunk);
      port.postMessage({ kind: 'bytes', chunk: copy }, [copy.buffer]);
    });
  }
  // Shard-interleaved numbering keeps id_flow unique across workers.
  row[0] = ((row[0] as number) - 1) * shard.count + shard.index + 1;
  if (writer) writer.write(row);
  else {
    rows.push(row);
    if (rows.length >= 512) { port.postMessage({ kind: 'rows', rows }); rows = []; }
  }
});
if (!sentColumns) port.postMessage({ kind: 'columns', columns: summary.columns });
if (writer) await (writer as RowWriter).close();
if (rows.length) port.postMessage({ kind: 'rows', rows });
const err = summary.capture.error;
port.postMessage({ kind: 'done', summary: { ...summary, capture: { ...summary.capture, error: err ? { message: err.message, code: err.code, file: err.file, offset: err.offset } : null } } });
