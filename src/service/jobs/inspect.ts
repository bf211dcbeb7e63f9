import { closeSync, openSync, readSync } from 'node:fs';
import { streamTable } from '../../dataset/load.ts';
import { parseCsv } from '../../dataset/csv.ts';
import { parseJsonl } from '../../dataset/jsonl.ts';
import { parquetColumnNames } from '../../dataset/parquet.ts';
import { ServiceError, toServiceError } from '../errors.ts';
import { inflateHead } from '../sniff.ts';
import { TABLE_LIMITS } from '../../dataset/limits.ts';

/** Bytes of a text table read to learn its columns; more only when its header line is longer, up to the line cap. */
const HEAD_BYTES = 64 * 1024;
const MAX_HEAD_BYTES = TABLE_LIMITS.maxLineBytes + 1;

/**
 * Column names of a flow table, from its head (a parse error there is a BAD_TABLE). Text formats are judged from
 * the first 64 KiB so the API thread parses little; Parquet from its first chunk.
 */
export async function tableColumns(file: string, kind: { format: 'csv' | 'jsonl' | 'parquet' | 'arff'; gzip: boolean }, displayName: string): Promise<Set<string>> {
  const { format } = kind;
  try {
    if (format === 'csv' || format === 'jsonl') {
      // Inflated with a bounded output (a 64 KiB gzip head can hold 64 MiB of text): at most n bytes, maybe a prefix.
      const headOf = (n: number): Buffer => {
        const raw = readHead(file, kind.gzip ? MAX_HEAD_BYTES : n);
        return kind.gzip ? inflateHead(raw, n) ?? Buffer.alloc(0) : raw;
      };
      let n = HEAD_BYTES;
      let head = headOf(n);
      // A header line longer than the head (a wide table): read on to the line cap, so its columns are all seen.
      if (head.length >= n && !head.includes(0x0a)) head = headOf((n = MAX_HEAD_BYTES));
      let text = head.toString('utf8');
      const nl = text.lastIndexOf('\n');
      // A head cut mid-line loses that line only; a file of one long line is parsed as it is.
      if (nl > 0 && (kind.gzip || head.length >= n)) text = text.slice(0, nl + 1);
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

