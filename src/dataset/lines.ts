import { createReadStream, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { DatasetError, DatasetErrorCode } from './errors.ts';
import { TABLE_LIMITS, sizeText } from './limits.ts';

export interface LineReadOptions {
  /** Bytes read from the file at a time. */
  batchBytes?: number;
  /** Longest line accepted, in bytes (after inflating); a longer one is a DatasetError naming line and offset. */
  maxLineBytes?: number;
  /** Called after each batch with the fraction of the file's bytes consumed (compressed bytes for `.gz`). */
  onProgress?: (fraction: number) => void;
  /** Most bytes a `.gz` file may inflate to (default: no limit); past it the read stops with a DatasetError. */
  maxInflatedBytes?: number;
}

/**
 * Reads a text file as batches of complete lines (without line terminators), so readers can stream files larger
 * than memory would like. `.gz` files are decompressed on the fly. A leading byte-order mark is dropped. No line
 * longer than `maxLineBytes` (default 1 MiB) is ever held: past it the read stops with a DatasetError naming the
 * line and the byte offset where it starts. Damaged gzip is a DatasetError too.
 */
export async function* readLineBatches(path: string, opts: LineReadOptions = {}): AsyncGenerator<string[]> {
  const maxLine = opts.maxLineBytes ?? TABLE_LIMITS.maxLineBytes;
  const file = createReadStream(path, { highWaterMark: opts.batchBytes ?? 1 << 20 });
  const gz = path.endsWith('.gz');
  let stream: Readable = file;
  if (gz) {
    const gunzip = createGunzip();
    file.on('error', (e) => gunzip.destroy(e));
    stream = file.pipe(gunzip);
  }
  const size = opts.onProgress ? statSync(path).size || 1 : 1;
  // Bytes after the last newline seen, kept as the chunks they came in (joined once the line ends).
  let carry: Buffer[] = [];
  let carryLen = 0;
  /** Lines delivered so far, and the (inflated) byte offset where the carried line starts. */
  let lineNo = 0;
  let carryStart = 0;
  let first = true;
  const maxInflated = gz ? opts.maxInflatedBytes ?? Infinity : Infinity;
  let inflated = 0;
  const tooLong = (line: number, start: number): DatasetError =>
    new DatasetError(
      DatasetErrorCode.MALFORMED,
      `${path}:${line}: line longer than ${sizeText(maxLine)} (the limit), starting at byte offset ${start}` +
        (gz ? ' of the inflated text' : ''),
    );
  const decode = (b: Buffer): string => {
    let s = b.toString('utf8');
    if (first) {
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      first = false;
    }
    return s;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if ((inflated += chunk.length) > maxInflated) {
        throw new DatasetError(
          DatasetErrorCode.MALFORMED,
          `${path}: inflates to more than ${sizeText(maxInflated)} (the limit) after ${file.bytesRead} compressed bytes`,
        );
      }
      const lastNl = chunk.lastIndexOf(0x0a);
      if (lastNl < 0) {
        carry.push(chunk);
        carryLen += chunk.length;
        if (carryLen > maxLine) throw tooLong(lineNo + 1, carryStart);
        continue;
      }
      // Every line ending in this chunk must fit; the first one continues the carried bytes.
      let start = 0;
      let lineStartOffset = carryStart;
      let pre = carryLen;
      let n = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0 && nl <= lastNl; nl = chunk.indexOf(0x0a, nl + 1)) {
        if (pre + nl - start > maxLine) throw tooLong(lineNo + n + 1, lineStartOffset);
        n++;
        lineStartOffset += pre + nl - start + 1;
        pre = 0;
        start = nl + 1;
      }
      const body = carry.length ? Buffer.concat([...carry, chunk.subarray(0, lastNl)]) : chunk.subarray(0, lastNl);
      carry = lastNl + 1 < chunk.length ? [chunk.subarray(lastNl + 1)] : [];
      carryLen = chunk.length - lastNl - 1;
      carryStart = lineStartOffset;
      if (carryLen > maxLine) throw tooLong(lineNo + n + 1, carryStart);
      const lines = splitLines(decode(body));
      lineNo += lines.length;
      opts.onProgress?.(file.bytesRead / size);
      yield lines;
    }
    if (carryLen > 0) {
      const rest = decode(Buffer.concat(carry));
      carry = [];
      if (rest.length) yield splitLines(rest);
    }
    opts.onProgress?.(file.bytesRead / size);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new DatasetError(
        DatasetErrorCode.MALFORMED,
        `${path}: damaged gzip data after ${file.bytesRead} compressed bytes (${(e as Error).message})`,
      );
    }
    throw e;
  } finally {
    file.destroy();
    if (stream !== file) stream.destroy();
  }
}

/** Splits text into lines, accepting \n and \r\n terminators. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.length && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
  }
  return lines;
}
