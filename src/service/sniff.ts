import { gunzipSync, constants as zc } from 'node:zlib';

/** What an upload is, judged by its bytes (never by its name). */
export type InputKind =
  | { kind: 'capture'; format: 'pcap' | 'pcapng'; gzip: boolean }
  | { kind: 'table'; format: 'csv' | 'jsonl' | 'parquet' | 'arff'; gzip: boolean };

/** Bytes the sniffer wants before it decides (less is fine for short files). */
export const SNIFF_BYTES = 64 * 1024;

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1]);
const PCAPNG_SHB = 0x0a0d0d0a;

/**
 * Classifies the head of an upload: pcap (any byte order, µs or ns), pcapng, Parquet (`PAR1`), or text that looks
 * like a JSONL, ARFF or delimited table; gzip is looked through. Returns null for anything else.
 *
 * @example sniffInput(Buffer.from('id_flow,x\n1,2\n')) // { kind: 'table', format: 'csv', gzip: false }
 */
export function sniffInput(head: Uint8Array): InputKind | null {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const inner = inflateHead(head.subarray(0, SNIFF_BYTES));
    if (inner === null) return null;
    const k = sniffPlain(inner);
    // Parquet needs random access to its footer: not readable through gzip.
    if (!k || (k.kind === 'table' && k.format === 'parquet')) return null;
    return { ...k, gzip: true } as InputKind;
  }
  return sniffPlain(head);
}

/**
 * The first bytes (at most `maxOut`, default SNIFF_BYTES) that a gzip head inflates to, or null when it is not
 * gzip. The work is bounded whatever the head holds (deflate inflates up to ~1000 times; a 64 KiB head could
 * be 64 MiB of text): zlib stops as soon as its output passes `maxOut`, and when the whole head inflates to more,
 * ever shorter prefixes of it are tried (halving, so at most ~12 bounded attempts). Synchronous and cheap (well
 * under a millisecond per attempt), so it can run on the API thread.
 *
 * @example inflateHead(gzipSync('a,b\n1,2\n'))?.toString() // 'a,b\n1,2\n'
 */
export function inflateHead(gz: Uint8Array, maxOut = SNIFF_BYTES): Buffer | null {
  for (let n = gz.length; ; n >>= 1) {
    try {
      return gunzipSync(gz.subarray(0, n), { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: maxOut });
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ERR_BUFFER_TOO_LARGE') return null;
    }
    // A gzip header is 10 bytes; a prefix this short that still inflates past the cap is not worth halving.
    if (n < 32) break;
  }
  return null;
}

function sniffPlain(b: Uint8Array): InputKind | null {
  if (b.length >= 4) {
    const be = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    if (PCAP_MAGICS.has(be)) return { kind: 'capture', format: 'pcap', gzip: false };
    if (be === PCAPNG_SHB) return { kind: 'capture', format: 'pcapng', gzip: false };
    if (b[0] === 0x50 && b[1] === 0x41 && b[2] === 0x52 && b[3] === 0x31) return { kind: 'table', format: 'parquet', gzip: false };
  }
  const text = textHead(b);
  if (text === null) return null;
  const t = text.replace(/^\uFEFF/, '').trimStart();
  if (t.length === 0) return null;
  if (t[0] === '{') return { kind: 'table', format: 'jsonl', gzip: false };
  if (/^(%[^\n]*\n\s*)*@relation\b/i.test(t)) return { kind: 'table', format: 'arff', gzip: false };
  const firstLine = t.split(/\r?\n/, 1)[0]!;
  if (/[,;\t]/.test(firstLine)) return { kind: 'table', format: 'csv', gzip: false };
  return null;
}

/** The head as text when it looks like text (valid UTF-8, no NULs or other control bytes), else null. */
function textHead(b: Uint8Array): string | null {
  let bad = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0) return null;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) bad++;
  }
  if (bad > 0) return null;
  try {
    // A multi-byte character cut at the end of the head is fine: drop up to 3 trailing bytes before decoding.
    const dec = new TextDecoder('utf-8', { fatal: true });
    for (let cut = 0; cut < 4 && cut < b.length; cut++) {
      try {
        return dec.decode(b.subarray(0, b.length - cut));
      } catch { /* try a shorter slice */ }
    }
    return null;
  } catch {
    return null;
  }
}

/** The file extension our readers key on, for a stored upload named by job id. */
export function storedExtension(k: InputKind): string {
  return `.${k.format}${k.gzip ? '.gz' : ''}`;
}
