import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

/**
 * Reads a text file as batches of complete lines (without line terminators), so readers can stream files larger
 * than memory would like. `.gz` files are decompressed on the fly. A leading byte-order mark is dropped.
 */
export async function* readLineBatches(path: string, batchBytes = 1 << 20): AsyncGenerator<string[]> {
  let stream: Readable = createReadStream(path, { highWaterMark: batchBytes });
  if (path.endsWith('.gz')) stream = stream.pipe(createGunzip());
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  let first = true;
  for await (const chunk of stream) {
    let text = rest + decoder.decode(chunk as Uint8Array, { stream: true });
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    const lastNl = text.lastIndexOf('\n');
    if (lastNl < 0) { rest = text; continue; }
    rest = text.slice(lastNl + 1);
    yield splitLines(text.slice(0, lastNl));
  }
  rest += decoder.decode();
  if (first && rest.charCodeAt(0) === 0xfeff) rest = rest.slice(1);
  if (rest.length) yield splitLines(rest);
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
