import { closeSync, openSync, readSync } from 'node:fs';
import { streamTable } from '../../dataset/load.ts';
import { parseCsv } from '../../dataset/csv.ts';
import { parseJsonl } from '../../dataset/jsonl.ts';
import { parquetColumnNames } from '../../dataset/parquet.ts';
import { ServiceError, toServiceError } from '../errors.ts';
import { inflateHead } from '../sniff.ts';
import { TABLE_LIMITS } from '../../dataset/limits.ts';

/** Bytes of a text table read to learn its columns: the longest line the readers take (this runs in a pool thread). */
const HEAD_BYTES = TABLE_LIMITS.maxLineBytes + 1;

/**
 * Column names of a flow table, from its head (a parse error there is a BAD_TABLE). Text formats are judged from
 * the first 64 KiB so the API thread parses little; Parquet from its first chunk.
 */
export async function tableColumns(file: string, kind: { format: 'csv' | 'jsonl' | 'parquet' | 'arff'; gzip: boolean }, displayName: string): Promise<Set<string>> {
  const { format } = kind;
  try {
    if (format === 'csv' || format === 'jsonl') {
      let head = readHead(file, HEAD_BYTES);
      // Inflated with a bounded output (a 64 KiB gzip head can hold 64 MiB of text): at most HEAD_BYTES, maybe a prefix.
      if (kind.gzip) head = inflateHead(head, HEAD_BYTES) ?? Buffer.alloc(0);
      let text = head.toString('utf8');
      const nl = text.lastIndexOf('\n');
      // A head cut mid-line loses that line only; a file of one long line is parsed as it is.
      if (nl > 0 && (kind.gzip || head.length >= HEAD_BYTES)) text = text.slice(0, nl + 1);
      const t = format === 'csv' ? parseCsv(text, displayName) : parseJsonl(text, displayName);
      return new Set(t.columns.map((c) => c.name));
    }
    // Parquet's names are in its footer: no data page is decoded on the API thread.
    if (format === 'parquet') return new Set(await parquetColumnNames(file));
    for await (const chunk of streamTable(file, { format, chunkRows: 64 })) {
      return new Set(chunk.columns.map((c) => c.name));
    }
    return new Set();
  } catch (err) {
    const e = toServiceError(err);
    if (e.code === 'INTERNAL') throw new ServiceError('BAD_TABLE', `${displayName}: cannot be read as a ${format} flow table`);
    throw new ServiceError(e.code === 'MISSING_COLUMNS' ? e.code : 'BAD_TABLE', e.message.split(file).join(displayName));
  }
}

function readHead(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

