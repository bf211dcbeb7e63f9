import { Worker } from 'node:worker_threads';
import { CaptureFeed, readCaptureChunks } from '../wire/reader.ts';
import { ChunkProducer, createChunkRing } from './chunk-ring.ts';
import type { CellValue, ColumnDef } from './columns.ts';
import { captureFileName, Meter, type ExtractSummary, type MeterOptions } from './meter.ts';
import { openChunkWriter, type RowWriter } from './output.ts';
import { flowWorkerScript } from './worker-script.ts';

/** What the main thread does with a worker's output: text bytes (CSV/JSONL, already formatted) or rows. */
export type ParallelSink =
  | { kind: 'bytes'; format: 'csv' | 'jsonl'; write: (chunk: Buffer, columns: ColumnDef[]) => void }
  | { kind: 'rows'; write: (row: CellValue[], columns: ColumnDef[]) => void };

/** Chunks of the capture in flight between the reading thread and the workers. */
const RING_SLOTS = 8;
const RING_SLOT_BYTES = 4 << 20;

/** Messages from a flow worker. */
export type WorkerMessage =
  | { kind: 'columns'; columns: ColumnDef[] }
  | { kind: 'rows'; rows: CellValue[][] }
  | { kind: 'bytes'; chunk: Uint8Array }
  | { kind: 'done'; flows: number; metered: number };

/** What a flow worker gets in workerData. */
export interface WorkerSetup {
  path: string;
  meter: MeterOptions;
  shard: { index: number; count: number };
  format: 'csv' | 'jsonl' | null;
  ring: ReturnType<typeof createChunkRing>;
}

/** id_flow of a shard's n-th flow (1-based): shard-interleaved numbering keeps it unique across shards. */
export function shardFlowId(n: number, shard: { index: number; count: number }): number {
  return (n - 1) * shard.count + shard.index + 1;
}

/**
 * `--workers N`: the flows are split in N shards by their symmetric endpoint hash, so no packet crosses threads.
 * The main thread reads the file once into a ring of shared buffers and meters shard 0 itself; N - 1 worker
 * threads parse the same bytes and meter the other shards. Every thread decodes every packet (cheap) and
 * advances its clock with it, so flows end exactly where a single thread would end them. CSV and JSONL are
 * formatted in each thread and arrive as bytes; Parquet rows arrive as rows. The row order differs from a single
 * thread's; id_flow is unique (shard-interleaved numbering), the rows are otherwise the same.
 */
export async function extractParallel(path: string, meter: MeterOptions, workers: number, sink: ParallelSink): Promise<ExtractSummary> {
  const count = workers;
  const script = flowWorkerScript(); // bundled while the file opens
  const ring = createChunkRing(RING_SLOTS, RING_SLOT_BYTES);
  const producer = new ChunkProducer(ring, count - 1);
  const format = sink.kind === 'bytes' ? sink.format : null;
  const threads: Worker[] = [];
  const finished: Promise<WorkerResult>[] = [];
  let started: Promise<void> = Promise.resolve();
  const closed = { value: false };
  // The main thread's own shard.
  const shard = { index: 0, count };
  let writer: RowWriter | null = null;
  // Formatted at once into bytes: one reused row array. Rows handed to the sink may be kept: a new array each.
  const m = new Meter({ captureName: captureFileName(path), ...meter, shard, reuseRow: sink.kind === 'bytes' }, (row) => {
    row[0] = shardFlowId(row[0] as number, shard);
    if (sink.kind === 'rows') sink.write(row, m.columns);
    else {
      writer ??= openChunkWriter(sink.format, m.columns, (chunk) => sink.write(chunk, m.columns));
      writer.write(row);
    }
  });
  const feed = new CaptureFeed(path, (f) => m.frame(f));
  try {
    const read = await readCaptureChunks(path, () => producer.acquire(), (buf, len) => {
      producer.publish(buf, len);
      return feed.feed(buf, len);
    }, ({ gzip }) => {
      if (gzip) feed.decompressed();
      // Workers start once the file is open (a missing file is reported as with one thread) and their script is
      // bundled; meanwhile this thread reads and meters its shard, and the ring holds the chunks for them.
      started = script.then((url) => {
        for (let index = 1; index < count; index++) {
          const setup: WorkerSetup = { path, meter, shard: { index, count }, format, ring };
          const { worker, result } = startWorker(url, setup, sink, closed, (err) => producer.fail(err));
          threads.push(worker);
          finished.push(result);
        }
      });
      started.catch(() => {}); // awaited below, unless reading fails first
    });
    producer.end();
    if (read.gzipError) feed.gzipDamaged(read.gzipError);
    const stats = m.end();
    if (writer) await (writer as RowWriter).close();
    const capture = feed.end(read.totalBytes);
    await started;
    const others = await Promise.all(finished);
    const total: ExtractSummary = { ...stats, capture, columns: m.columns };
    for (const o of others) {
      total.flows += o.flows;
      total.metered += o.metered;
    }
    // Every thread decodes every packet, so packet and skip counts are the same in each: the main thread's stand.
    return total;
  } finally {
    producer.end();
    // After a failure, whatever a worker still sends is dropped (the caller may go on to its next input), and
    // workers still starting when it happened are stopped as soon as they exist.
    closed.value = true;
    const stopAll = (): void => { for (const w of threads) void w.terminate(); };
    void started.then(stopAll, stopAll);
  }
}

interface WorkerResult {
  flows: number;
  metered: number;
}

/** Starts one flow worker; its output goes to `sink`, `onFail` hears of its death before `result` rejects. */
function startWorker(
  script: URL | null, setup: WorkerSetup, sink: ParallelSink, closed: { value: boolean }, onFail: (err: Error) => void,
): { worker: Worker; result: Promise<WorkerResult> } {
  // The bundled script needs no loader (execArgv without tsx's --import); parallel-boot.mjs loads the sources through tsx.
  const worker = new Worker(script ?? new URL('./parallel-boot.mjs', import.meta.url), {
    workerData: setup,
    ...(script ? { execArgv: [] } : {}),
    // Flow state outlives many scavenges: a larger young generation halves GC time (as bin/veil.js does).
    resourceLimits: { maxYoungGenerationSizeMb: 192 },
  });
  const result = new Promise<WorkerResult>((resolve, reject) => {
    let columns: ColumnDef[] = [];
    let done: WorkerResult | null = null;
    worker.on('message', (m: WorkerMessage) => {
      if (closed.value) return;
      if (m.kind === 'columns') columns = m.columns;
      else if (m.kind === 'bytes') { if (sink.kind === 'bytes') sink.write(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength), columns); }
      else if (m.kind === 'rows') { if (sink.kind === 'rows') for (const r of m.rows) sink.write(r, columns); }
      else done = { flows: m.flows, metered: m.metered };
    });
    const fail = (err: Error): void => {
      onFail(err);
      reject(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (code === 0 && done) resolve(done);
      else fail(new Error(`flow worker ${setup.shard.index} exited with code ${code}`));
    });
  });
  result.catch(() => {}); // awaited by the caller, unless the main thread fails first
  return { worker, result };
}
