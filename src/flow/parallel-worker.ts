// A flow worker: meters one shard of a capture whose bytes the main thread shares through a chunk ring.
import { parentPort, workerData } from 'node:worker_threads';
import { CaptureFeed } from '../wire/reader.ts';
import { ChunkConsumer } from './chunk-ring.ts';
import type { CellValue } from './columns.ts';
import { captureFileName, Meter } from './meter.ts';
import { openChunkWriter, type RowWriter } from './output.ts';
import { shardFlowId, type WorkerMessage, type WorkerSetup } from './parallel.ts';

const { path, meter, shard, format, ring } = workerData as WorkerSetup;
const port = parentPort!;
const post = (m: WorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
let rows: CellValue[][] = [];
let writer: RowWriter | null = null;
let sentColumns = false;
// Formatted at once when `format` is set: one reused row array; rows posted to the main thread are kept, so new ones.
const m = new Meter({ captureName: captureFileName(path), ...meter, shard, reuseRow: format !== null }, (row) => {
  if (!sentColumns) {
    post({ kind: 'columns', columns: m.columns });
    sentColumns = true;
    if (format) writer = openChunkWriter(format, m.columns, (chunk) => {
      const copy = new Uint8Array(chunk);
      post({ kind: 'bytes', chunk: copy }, [copy.buffer]);
    });
  }
  row[0] = shardFlowId(row[0] as number, shard);
  if (writer) writer.write(row);
  else {
    rows.push(row);
    if (rows.length >= 512) { post({ kind: 'rows', rows }); rows = []; }
  }
});
const feed = new CaptureFeed(path, (f) => m.frame(f));
const chunks = new ChunkConsumer(ring);
while (chunks.take((buf, len) => { feed.feed(buf, len); }));
const stats = m.end();
if (!sentColumns) post({ kind: 'columns', columns: m.columns });
if (writer) await (writer as RowWriter).close();
if (rows.length) post({ kind: 'rows', rows });
post({ kind: 'done', flows: stats.flows, metered: stats.metered });
