import type { CaptureError, RawFrame } from './types.ts';
import { CaptureParser } from './capture/parser.ts';
import { ByteSource, captureTotalBytes, type CaptureSource } from './capture/source.ts';
import { DECOMPRESSED_NOTE, gzipDamage } from './capture/damage.ts';
import { MAX_BLOCK_LEN, MAX_SANE_CAPLEN, type CaptureFormat } from './capture/state.ts';

/**
 * Streaming pcap / pcapng readers: one byte source (capture/source.ts: file, gzip, stdin, stream) feeds one
 * incremental parser (capture/parser.ts) that dispatches to the grammars (capture/pcap.ts, capture/pcapng.ts);
 * what goes wrong becomes an error in one place (capture/damage.ts). Memory stays bounded whatever the file size.
 */

export { captureTotalBytes, MAX_SANE_CAPLEN, MAX_BLOCK_LEN, type CaptureSource, type CaptureFormat };

export interface CaptureSummary {
  /** 'unknown' only when the header could not be recognised (error BAD_MAGIC or TRUNCATED at offset 0). */
  format: CaptureFormat | 'unknown';
  /** Frames delivered to `onFrame`. */
  frames: number;
  /** Bytes read from the source (compressed bytes for a .gz file). */
  bytesRead: number;
  /** Size of the file from fs.stat, null for pipes, stdin and streams. */
  totalBytes: number | null;
  /** Link types declared by the file (pcap header, pcapng interface blocks), each once, in order of appearance. */
  linkTypes: number[];
  /** Damage that stopped the read (every frame before it was delivered), or null when the file was read to its end. */
  error: CaptureError | null;
  /** True when `opts.signal` aborted the read (not an error: the frames so far were delivered). */
  aborted: boolean;
}

export interface ReadCaptureOptions {
  /** Called after every chunk with the number of source bytes read so far (compare with `captureTotalBytes`). */
  onProgress?: (bytesRead: number) => void;
  signal?: AbortSignal;
  /** gzip input: stop with INPUT_TOO_LARGE once the inflated bytes pass this (a 4 MB file can inflate to 4 GiB). */
  maxInflatedBytes?: number;
  /** Read size; default 4 MiB for regular files (each read costs a thread-pool round trip), 1 MiB for streams. */
  highWaterMark?: number;
}

/**
 * Reads a pcap or pcapng capture (sniffed from its magic; a gzip-compressed file given by path is decompressed on
 * the fly) and calls `onFrame` synchronously for each frame.
 *
 * `onFrame` always receives the same {@link RawFrame} object; its `data` is the reader's current buffer and the frame
 * occupies `data[offset, offset + capLen)`. Copy anything you keep past the callback. pcapng Simple Packet Blocks
 * carry no timestamp or interface: they get interface 0 and the previous packet's timestamp.
 *
 * Damage never throws: a truncated or corrupt record, or a file in neither format, stops the read and is returned
 * in `summary.error` (a {@link CaptureError} naming the file and byte offset) after every earlier frame was
 * delivered. Only I/O failures (missing file, permission, a directory, a failing stream) throw, as CaptureError
 * code 'IO' naming the file. An exception thrown by `onFrame` propagates unchanged.
 *
 * @example
 * ```ts
 * const info = newPacketInfo();
 * const summary = await readCapture({ path: 'trace.pcapng' }, (f) => {
 *   if (decodePacket(f, info) === DecodeStatus.OK) table.add(info);
 * });
 * if (summary.error) console.warn(summary.error.message); // "trace.pcapng: truncated record ... at byte offset 81234"
 * ```
 */
export async function readCapture(
  source: CaptureSource,
  onFrame: (f: RawFrame) => void,
  opts: ReadCaptureOptions = {},
): Promise<CaptureSummary> {
  const src = await ByteSource.open(source, {
    ...(opts.highWaterMark !== undefined ? { highWaterMark: opts.highWaterMark } : {}),
    ...(opts.maxInflatedBytes !== undefined ? { maxInflatedBytes: opts.maxInflatedBytes } : {}),
  });
  const parser = new CaptureParser(src.name, onFrame);
  if (src.gzip) parser.offsetNote = DECOMPRESSED_NOTE;
  const signal = opts.signal;
  let aborted = false;
  const onAbort = (): void => { aborted = true; src.destroy(); };
  if (signal) {
    if (signal.aborted) aborted = true;
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  const onProgress = opts.onProgress;
  try {
    if (!aborted) {
      for await (const { buf, len } of src.chunks()) {
        parser.feed(buf, len);
        if (onProgress) onProgress(src.bytesRead);
        if (parser.error || aborted) break;
      }
    }
  } catch (err) {
    // onFrame's exceptions, I/O failures (CaptureError IO) and INPUT_TOO_LARGE propagate; after an abort the
    // destroyed stream's complaint is not news.
    if (parser.feeding || !aborted) throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (src.gzipError && !parser.error && !aborted) parser.stop(gzipDamage(src.name, src.gzipError, parser.consumed)!);
  if (!aborted) parser.finish();
  return {
    format: parser.format,
    frames: parser.frames,
    bytesRead: src.bytesRead,
    totalBytes: src.totalBytes,
    linkTypes: parser.linkTypes,
    error: parser.error,
    aborted,
  };
}

/**
 * A capture parsed from chunks the caller hands in, in order: threads that share one read of a file (the flow
 * workers) each feed the same bytes to their own CaptureFeed, and so see the same frames and the same damage as
 * {@link readCapture} would report. `onFrame` is called as in readCapture; its exceptions propagate.
 */
export class CaptureFeed {
  private readonly parser: CaptureParser;
  private fed = 0;

  constructor(name: string, onFrame: (f: RawFrame) => void) {
    this.parser = new CaptureParser(name, onFrame);
  }

  /** The bytes fed are decompressed from a .gz file: error offsets say so. Call before the first feed. */
  decompressed(): void {
    this.parser.offsetNote = DECOMPRESSED_NOTE;
  }

  /** The gzip stream broke: stop as readCapture does (truncated or corrupt at the bytes fed so far). */
  gzipDamaged(err: NodeJS.ErrnoException): void {
    if (this.parser.error) return;
    const e = gzipDamage(this.parser.file, err, this.parser.consumed);
    if (e) this.parser.stop(e);
  }

  /** Parses the next `len` bytes of `chunk` (needed only during the call). False once damage stopped the parse. */
  feed(chunk: Buffer, len: number): boolean {
    if (this.parser.error) return false;
    this.fed += len;
    this.parser.feed(chunk, len);
    return this.parser.error === null;
  }

  /** End of the capture: what was read (`bytesRead` counts the bytes fed). */
  end(totalBytes: number | null): CaptureSummary {
    const p = this.parser;
    p.finish();
    return { format: p.format, frames: p.frames, bytesRead: this.fed, totalBytes, linkTypes: p.linkTypes, error: p.error, aborted: false };
  }
}

/**
 * Reads the bytes of a capture file (decompressing a .gz file; a FIFO or device as a stream) into buffers the
 * caller provides, in order: `acquire` gives the buffer for the next chunk (its whole length may be filled),
 * `onChunk` receives it with the number of bytes read and returns false to stop. A regular file is read straight
 * into the buffers, one read ahead. `onOpen` learns first whether the bytes are decompressed. Returns the file's
 * size (null when not a regular file), the bytes read (decompressed) and a broken gzip stream's error (the bytes
 * before it were delivered). I/O failures throw as CaptureError code 'IO'.
 */
export async function readCaptureChunks(
  path: string,
  acquire: () => Promise<Buffer>,
  onChunk: (buf: Buffer, len: number) => boolean,
  onOpen?: (info: { gzip: boolean }) => void,
): Promise<{ totalBytes: number | null; bytesRead: number; gzipError: NodeJS.ErrnoException | null }> {
  const src = await ByteSource.open({ path }, { acquire });
  onOpen?.({ gzip: src.gzip });
  for await (const { buf, len } of src.chunks()) {
    if (!onChunk(buf, len)) break;
  }
  return { totalBytes: src.totalBytes, bytesRead: src.delivered, gzipError: src.gzipError };
}
