import { createReadStream, openSync, readSync, closeSync, promises as fsp } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { VeilError } from '../../core/errors.ts';
import { ioError } from './damage.ts';

export type CaptureSource = { path: string } | { stream: NodeJS.ReadableStream; name: string };

/** Bytes per read of a regular file: a read is a round trip through libuv's thread pool (tens of microseconds). */
export const FILE_READ_SIZE = 4 << 20;
/** Bytes per piece of a stream (stdin, a FIFO, a .gz file's compressed side). */
const STREAM_READ_SIZE = 1 << 20;

export interface ByteSourceOptions {
  /** Read size of a regular file (default 4 MiB) or a stream (default 1 MiB). */
  highWaterMark?: number;
  /** Buffers to read into, in order (a shared ring); without it a regular file is read through two reused buffers
   * and a stream's own chunks are handed on. A chunk's buffer is the caller's until it asks for the next chunk. */
  acquire?: () => Promise<Buffer>;
  /** gzip input: stop with INPUT_TOO_LARGE once the inflated bytes pass this. */
  maxInflatedBytes?: number;
}

/**
 * The one byte source of the capture readers: a regular file (read straight into reused buffers, one read ahead),
 * a gzip-compressed file (inflated on the fly), a FIFO, device, standard input or any stream, as chunks in order.
 * A file that cannot be read throws a CaptureError code IO naming it (./damage.ts); a broken gzip stream ends the
 * chunks early with `gzipError` set (the bytes before it were delivered).
 */
export class ByteSource {
  /** Size of the file when it is a regular one, else null. */
  totalBytes: number | null = null;
  /** True when the bytes are inflated from a gzip file: offsets then count decompressed bytes. */
  gzip = false;
  /** Source bytes consumed so far (compressed bytes for a .gz file). */
  bytesRead = 0;
  /** Bytes delivered in chunks (decompressed). */
  delivered = 0;
  gzipError: NodeJS.ErrnoException | null = null;
  private plain: string | null = null;
  private stream: NodeJS.ReadableStream | null = null;
  private raw: (NodeJS.ReadableStream & { destroy(): void }) | null = null;

  private constructor(readonly name: string, private readonly opts: ByteSourceOptions) {}

  /** Opens the source: stats a path, sniffs gzip. Throws CaptureError IO when the file cannot be read. */
  static async open(source: CaptureSource, opts: ByteSourceOptions = {}): Promise<ByteSource> {
    const name = 'path' in source ? (source.path === '-' ? '<stdin>' : source.path) : source.name;
    const s = new ByteSource(name, opts);
    if (!('path' in source)) { s.stream = source.stream; return s; }
    if (source.path === '-') { s.stream = process.stdin; return s; }
    const path = source.path;
    try {
      const st = await fsp.stat(path);
      s.totalBytes = st.isFile() ? st.size : null;
      if (st.isFile() && isGzipFile(path)) {
        const file = createReadStream(path, { highWaterMark: opts.highWaterMark ?? STREAM_READ_SIZE });
        const gunzip = createGunzip({ chunkSize: 256 * 1024 });
        file.on('data', (c: Buffer | string) => { s.bytesRead += c.length; });
        file.on('error', (err) => gunzip.destroy(err));
        file.pipe(gunzip);
        s.raw = file;
        s.stream = gunzip;
        s.gzip = true;
      } else if (st.isFile()) {
        s.plain = path;
      } else {
        s.stream = createReadStream(path, { highWaterMark: opts.highWaterMark ?? STREAM_READ_SIZE });
      }
    } catch (err) {
      throw ioError(name, err);
    }
    return s;
  }

  /** Stops reading (an abort): pending stream reads end. */
  destroy(): void {
    (this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | null)?.destroy?.();
    this.raw?.destroy();
  }

  /** The bytes, chunk after chunk: `buf[0, len)` is valid until the next chunk is asked for. */
  async *chunks(): AsyncGenerator<{ buf: Buffer; len: number }, void, void> {
    if (this.plain !== null) yield* this.fileChunks(this.plain);
    else yield* this.streamChunks();
  }

  private async *fileChunks(path: string): AsyncGenerator<{ buf: Buffer; len: number }, void, void> {
    let fh: Awaited<ReturnType<typeof fsp.open>>;
    try {
      fh = await fsp.open(path, 'r');
    } catch (err) {
      throw ioError(this.name, err);
    }
    const size = this.opts.highWaterMark ?? FILE_READ_SIZE;
    const own = this.opts.acquire ? null : [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)] as const;
    let which = 0;
    const next = async (): Promise<Buffer> => (own ? own[(which ^= 1)]! : this.opts.acquire!());
    let pending: Promise<{ bytesRead: number }> | null = null;
    try {
      let buf = own ? own[0] : await this.opts.acquire!();
      pending = fh.read(buf, 0, buf.length, 0);
      for (;;) {
        let n: number;
        try {
          n = (await pending).bytesRead;
        } catch (err) {
          pending = null;
          throw ioError(this.name, err);
        }
        if (n === 0) break;
        this.bytesRead += n;
        this.delivered += n;
        const cur = buf;
        buf = await next();
        pending = fh.read(buf, 0, buf.length, this.bytesRead);
        yield { buf: cur, len: n };
      }
    } finally {
      await pending?.catch(() => undefined);
      await fh.close();
    }
  }

  private async *streamChunks(): AsyncGenerator<{ buf: Buffer; len: number }, void, void> {
    const max = this.opts.maxInflatedBytes ?? Infinity;
    const it = (this.stream as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
    try {
      for (;;) {
        let r: IteratorResult<Uint8Array | string>;
        try {
          r = await it.next();
        } catch (err) {
          const code = (err as NodeJS.ErrnoException)?.code;
          if (this.gzip && (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR')) { this.gzipError = err as NodeJS.ErrnoException; return; }
          if (err instanceof VeilError) throw err;
          throw ioError(this.name, err);
        }
        if (r.done) return;
        const c = r.value;
        const chunk = Buffer.isBuffer(c) ? c
          : typeof c === 'string' ? Buffer.from(c, 'latin1')
          : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
        if (!this.raw) this.bytesRead += chunk.length;
        if (this.gzip && this.delivered + chunk.length > max) {
          throw new VeilError('INPUT_TOO_LARGE', `${this.name}: inflates to more than ${max} bytes, the most this server reads from one compressed upload`);
        }
        if (!this.opts.acquire) {
          this.delivered += chunk.length;
          yield { buf: chunk, len: chunk.length };
          continue;
        }
        for (let off = 0; off < chunk.length;) {
          const buf = await this.opts.acquire();
          const n = Math.min(buf.length, chunk.length - off);
          chunk.copy(buf, 0, off, off + n);
          off += n;
          this.delivered += n;
          yield { buf, len: n };
        }
      }
    } finally {
      // As a for-await loop would: an early stop destroys the stream (a live capture's pipe, a FIFO, a gunzip).
      try { await it.return?.(); } catch { /* already failed */ }
      this.raw?.destroy();
    }
  }
}

/** Size of a capture file in bytes (for a progress bar), or null for stdin and anything that is not a regular file. */
export async function captureTotalBytes(path: string): Promise<number | null> {
  if (path === '-') return null;
  try {
    const st = await fsp.stat(path);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

function isGzipFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}
