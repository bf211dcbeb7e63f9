import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { readCapture, type CaptureSummary } from '../../wire/reader.ts';
import { ServiceError } from '../errors.ts';
import { sniffInput, SNIFF_BYTES, type InputKind } from '../sniff.ts';

export interface ReceivedUpload {
  /** Where the bytes are (a temporary name the caller renames or removes). */
  path: string;
  bytes: number;
  /** What the bytes are; null when the sniffer was off (model uploads). */
  kind: InputKind | null;
  /** The client's file name, reduced to a display name; never used as a path. */
  displayName: string;
  fields: Record<string, string>;
  /** Structural check of a plain capture done while it streamed in (null when not a plain capture). */
  capture: CaptureSummary | null;
}

export interface UploadOptions {
  /** Temporary file to stream into; removed on any failure. */
  path: string;
  maxBytes: number;
  /** Sniff the content and refuse anything that is neither a capture nor a flow table. */
  sniff: boolean;
}

/**
 * Streams the one file part of a multipart request to disk (never buffering it whole), collecting the text fields
 * around it. While bytes arrive, the head is sniffed (the client's name and content type are ignored) and a plain
 * capture is walked record by record, so a truncated or corrupt capture is known when the upload ends. Over the
 * size limit, the partial file is removed and the request fails with 413.
 */
export async function receiveUpload(req: FastifyRequest, opts: UploadOptions): Promise<ReceivedUpload> {
  const { files, fields } = await receiveUploads(req, { pathFor: () => opts.path, maxBytes: opts.maxBytes, sniff: opts.sniff, maxFiles: 1 });
  return { ...files[0]!, fields };
}

export interface MultiUploadOptions {
  /** Temporary file for the i-th file part (0-based); every one is removed on any failure. */
  pathFor: (index: number) => string;
  /** Bytes of all file parts together. */
  maxBytes: number;
  sniff: boolean;
  maxFiles: number;
}

/** As receiveUpload, for up to `maxFiles` file parts (a training job's captures) under one size limit for all. */
export async function receiveUploads(req: FastifyRequest, opts: MultiUploadOptions): Promise<{ files: Omit<ReceivedUpload, 'fields'>[]; fields: Record<string, string> }> {
  if (!req.isMultipart()) {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().slice(0, 80) || 'none';
    throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', `this route takes multipart/form-data with ${opts.maxFiles === 1 ? 'one file part' : 'file parts'}, not a body of type ${type}`);
  }
  const fields: Record<string, string> = {};
  const got: Omit<ReceivedUpload, 'fields'>[] = [];
  const written: string[] = [];
  const budget = { left: opts.maxBytes, max: opts.maxBytes };
  let out: WriteStream | null = null;
  const removeAll = (): void => { for (const f of written) rmSync(f, { force: true }); };
  try {
    for await (const part of req.parts({ limits: { fileSize: opts.maxBytes, files: opts.maxFiles, fields: 20, fieldSize: 64 * 1024, parts: opts.maxFiles + 24 } })) {
      if (part.type === 'field') {
        fields[part.fieldname] = typeof part.value === 'string' ? part.value : String(part.value);
        continue;
      }
      const file = opts.pathFor(got.length);
      mkdirSync(dirOf(file), { recursive: true });
      const inspector = new Inspector(opts.sniff, displayName(part.filename), budget);
      written.push(file);
      out = createWriteStream(file, { flags: 'wx' });
      await pipeline(part.file, inspector, out);
      if ((part.file as { truncated?: boolean }).truncated) throw tooLarge(opts.maxBytes);
      got.push({ path: file, bytes: inspector.bytes, kind: inspector.kind, displayName: displayName(part.filename), capture: await inspector.captureSummary() });
      if (opts.sniff && inspector.bytes === 0) throw new ServiceError('UNSUPPORTED_INPUT', `${displayName(part.filename)}: the upload is empty`);
    }
  } catch (err) {
    // A failed pipeline destroys the file stream, whose open may still be in flight: wait for it to close, or the
    // file would appear after it was removed.
    if (out && !out.closed) await new Promise<void>((resolve) => out!.once('close', () => resolve()));
    removeAll();
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(opts.maxBytes);
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') {
      throw new ServiceError('BAD_REQUEST', opts.maxFiles === 1 ? 'send one file part and at most 20 fields' : `send at most ${opts.maxFiles} file parts and 20 fields`);
    }
    if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send the file as multipart/form-data');
    throw err;
  }
  if (!got.length) throw new ServiceError('UPLOAD_MISSING', 'the multipart body has no file part');
  return { files: got, fields };
}

function tooLarge(max: number): ServiceError {
  return new ServiceError('UPLOAD_TOO_LARGE', `the upload exceeds the server's limit of ${formatBytes(max)} (--max-upload); nothing was kept`);
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

/** The client's file name reduced to something safe to show: its last path element, printable, bounded. */
export function displayName(filename: string | undefined): string {
  const base = (filename ?? '').split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return clean === '' || clean === '.' || clean === '..' ? 'upload' : clean;
}

function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i > 0 ? p.slice(0, i) : '.';
}

/** Pass-through that sniffs the head and feeds a plain capture to the record walker as it streams. */
class Inspector extends Transform {
  bytes = 0;
  kind: InputKind | null = null;
  private head: Buffer[] = [];
  private headLen = 0;
  private decided = false;
  private walker: CaptureWalker | null = null;

  constructor(private readonly sniff: boolean, private readonly name: string, private readonly budget: { left: number; max: number }) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.budget.left -= chunk.length;
    if (this.budget.left < 0) { cb(tooLarge(this.budget.max)); return; }
    if (!this.sniff || this.decided) {
      this.forward(chunk, cb);
      return;
    }
    this.head.push(chunk);
    this.headLen += chunk.length;
    if (this.headLen < SNIFF_BYTES) { cb(); return; }
    this.decide(cb);
  }

  override _flush(cb: TransformCallback): void {
    if (this.sniff && !this.decided && this.headLen > 0) {
      this.decide((err) => {
        if (err) { cb(err); return; }
        this.walker?.end();
        cb();
      });
      return;
    }
    this.walker?.end();
    cb();
  }

  private decide(cb: TransformCallback): void {
    this.decided = true;
    const head = Buffer.concat(this.head);
    this.head = [];
    this.kind = sniffInput(head.subarray(0, SNIFF_BYTES));
    if (!this.kind) {
      cb(new ServiceError('UNSUPPORTED_INPUT', `${this.name}: neither a capture (pcap, pcapng) nor a flow table (CSV, JSONL, Parquet, ARFF), judging by its first bytes`));
      return;
    }
    if (this.kind.kind === 'capture' && !this.kind.gzip) this.walker = new CaptureWalker(this.name);
    this.forward(head, cb);
  }

  private forward(chunk: Buffer, cb: TransformCallback): void {
    this.push(chunk);
    if (this.walker) this.walker.write(chunk).then(() => cb(), cb);
    else cb();
  }

  captureSummary(): Promise<CaptureSummary | null> {
    return this.walker ? this.walker.summary : Promise.resolve(null);
  }
}

/** Walks pcap/pcapng records (no packet decoding) over a stream fed chunk by chunk, with backpressure. */
class CaptureWalker {
  private readonly input = new PassThrough({ highWaterMark: 1 << 20 });
  readonly summary: Promise<CaptureSummary>;
  private finished = false;
  private release: (() => void) | null = null;

  constructor(name: string) {
    // The walker stops reading at the first damage; writes after that are dropped, never an error.
    this.input.on('error', () => {});
    this.summary = readCapture({ stream: this.input, name }, () => {}).finally(() => {
      this.finished = true;
      this.release?.();
    });
    this.summary.catch(() => {});
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.finished || this.input.destroyed) return;
    if (this.input.write(chunk)) return;
    await new Promise<void>((resolve) => {
      this.release = resolve;
      this.input.once('drain', () => resolve());
    });
    this.release = null;
  }

  end(): void {
    if (!this.finished && !this.input.destroyed) this.input.end();
  }
}
