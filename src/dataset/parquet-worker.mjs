// Parquet decoding thread for src/dataset/parquet.ts (plain JavaScript, so the thread boots without a TypeScript
// loader). hyparquet trusts what a file says: a damaged page can ask it for billions of values (an RLE run count
// is not checked against the page's value count), which no check from outside can rule out. Decoding here, under
// a heap limit and a deadline set by the parent, bounds what a hostile file can cost: the parent terminates this
// thread and reports the file as damaged.
//
// Messages in:  { id, op: 'open', path } | { id, op: 'read', start, end } | { id, op: 'close' }
// Messages out: { id, ok: true, ... } | { id, ok: false, message, own }  (own: the message is final, from our checks)
import { parentPort } from 'node:worker_threads';
import { open } from 'node:fs/promises';
import { parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';

class OwnError extends Error {}

/**
 * hyparquet's view of the file through one open handle (an upload removed meanwhile stays readable). Reads are
 * checked against the file's extent and a per-window budget of twice its size (column chunks do not overlap in a
 * sound file) and tracked, so a failed decode waits for every read in flight before it answers: none is left to
 * fail later as an unhandled rejection.
 */
class FileBuffer {
  constructor(fh, size, path) {
    this.fh = fh;
    this.byteLength = size;
    this.path = path;
    this.inFlight = new Set();
    this.firstError = undefined;
    this.window();
  }

  window() {
    this.budget = 2 * this.byteLength + (1 << 20);
  }

  slice(start, end = this.byteLength) {
    const p = this.read(start, end);
    this.inFlight.add(p);
    p.then(() => { this.inFlight.delete(p); }, (e) => { this.inFlight.delete(p); this.firstError ??= e; });
    return p;
  }

  async read(start, end) {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > this.byteLength) {
      throw new OwnError(`${this.path}: the footer points at bytes ${start}-${end}, outside the file's ${this.byteLength}`);
    }
    this.budget -= end - start;
    if (this.budget < 0) throw new OwnError(`${this.path}: the footer's column chunks overlap (bytes ${start}-${end} read again)`);
    const out = new Uint8Array(end - start);
    for (let off = 0; off < out.length;) {
      const { bytesRead } = await this.fh.read(out, off, out.length - off, start + off);
      if (bytesRead === 0) throw new OwnError(`${this.path}: the file ended at byte ${start + off} while reading`);
      off += bytesRead;
    }
    return out.buffer;
  }

  async settle() {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}

let file = null;
let meta = null;

async function failure(e) {
  if (file) await file.settle();
  const cause = e instanceof OwnError ? e : file?.firstError ?? e;
  if (cause instanceof OwnError) return { ok: false, message: cause.message, own: true };
  return { ok: false, message: cause instanceof Error ? cause.message : String(cause), own: false };
}

async function handle(msg) {
  if (msg.op === 'open') {
    const fh = await open(msg.path, 'r');
    try {
      file = new FileBuffer(fh, (await fh.stat()).size, msg.path);
    } catch (e) {
      await fh.close();
      throw e;
    }
    try {
      meta = await parquetMetadataAsync(file);
      const names = parquetSchema(meta).children.map((c) => String(c.element.name));
      return { ok: true, names, numRows: String(meta.num_rows), groupRows: meta.row_groups.map((g) => String(g.num_rows)) };
    } catch (e) {
      return failure(e);
    }
  }
  if (msg.op === 'read') {
    const chunks = [];
    file.window();
    try {
      await parquetRead({
        file,
        metadata: meta,
        rowStart: msg.start,
        rowEnd: msg.end,
        onChunk: (c) => { chunks.push({ columnName: c.columnName, rowStart: c.rowStart, data: c.columnData }); },
      });
    } catch (e) {
      return failure(e);
    }
    return { ok: true, chunks };
  }
  if (msg.op === 'close') {
    if (file) {
      await file.settle();
      await file.fh.close();
    }
    file = null;
    meta = null;
    return { ok: true };
  }
  return { ok: false, message: `unknown op ${msg.op}`, own: true };
}

function reply(id, r) {
  try {
    parentPort.postMessage({ id, ...r });
  } catch (e) {
    // A decoded value that cannot cross threads.
    parentPort.postMessage({ id, ok: false, message: e instanceof Error ? e.message : String(e), own: false });
  }
}

parentPort.on('message', (msg) => {
  handle(msg).then(
    (r) => reply(msg.id, r),
    (e) => reply(msg.id, { ok: false, message: e instanceof Error ? e.message : String(e), own: false }),
  );
});
