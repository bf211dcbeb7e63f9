import { CaptureError } from '../types.ts';

/**
 * The one mapping from what can go wrong while reading a capture to the error the user reads. Damage inside the
 * bytes (truncation, a record longer than any packet, a bad block) stops the read at a byte offset and is
 * reported in the summary, the frames before it delivered; a file that cannot be read at all (missing, a
 * directory, no permission, a failing device) throws before any frame, with no offset (there is none).
 */

/** Damage at `offset` of `file`; `note` says when offsets count decompressed bytes. */
export function damage(code: 'TRUNCATED' | 'BAD_MAGIC' | 'CORRUPT_RECORD', file: string, offset: number, detail: string, note = ''): CaptureError {
  return new CaptureError(code, file, offset, detail + note);
}

/** Offsets of a gzip-compressed capture count decompressed bytes: said after the offset. */
export const DECOMPRESSED_NOTE = ' (offset in the decompressed data)';

const IO_WORDS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory, not a capture file',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  EIO: 'input/output error (a failing disk or device)',
};

/** A capture that cannot be read at all: `file: cannot read the capture: no such file` (no byte offset). */
export function ioError(file: string, err: unknown): CaptureError {
  const e = err as NodeJS.ErrnoException;
  const what = (e?.code && IO_WORDS[e.code]) ?? (e?.message ?? String(err));
  return new CaptureError('IO', file, -1, `cannot read the capture: ${what}`);
}

/** A zlib error of a gzip-compressed capture as damage (a cut or corrupt stream), or null for other errors. */
export function gzipDamage(file: string, err: unknown, offset: number): CaptureError | null {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code !== 'Z_BUF_ERROR' && code !== 'Z_DATA_ERROR') return null;
  return damage(code === 'Z_BUF_ERROR' ? 'TRUNCATED' : 'CORRUPT_RECORD', file, offset, `gzip stream damaged (${(err as Error).message})`, DECOMPRESSED_NOTE);
}

/** A record whose capture length no packet can have (a forged or damaged length field):
 * `pcap record claims 524501 captured bytes (a damaged length: no packet exceeds 262144 bytes) at byte offset 24`. */
export function absurdLength(file: string, offset: number, kind: string, capLen: number, max: number, snaplen: number | null, note: string): CaptureError {
  const limit = snaplen && snaplen < max ? `the file's snaplen is ${snaplen} bytes` : `no packet exceeds ${max} bytes`;
  return damage('CORRUPT_RECORD', file, offset, `${kind} claims ${capLen} captured bytes (a damaged length: ${limit})`, note);
}
