/**
 * Caps that keep a hostile or broken flow table from exhausting memory or time: a table reader refuses a file past
 * them with a DatasetError (MALFORMED) naming the file and the place, before it allocates for what lies beyond.
 * Real flow tables are far inside them (CICFlowMeter: 84 columns, lines under 2 KiB; Veil's own: ~150 columns).
 */
export interface TableLimits {
  /** Columns (CSV header fields, ARFF attributes, distinct JSONL keys, Parquet top-level fields). */
  maxColumns?: number;
  /** Bytes in one line of a text table (a CSV record spanning lines counts as one line). */
  maxLineBytes?: number;
  /** Nominal values an ARFF header may declare, over all its attributes. */
  maxNominalValues?: number;
  /** Bytes a gzipped text table may inflate to (a 1 MiB gzip can hold 1 GiB of text). */
  maxInflatedBytes?: number;
  /** Milliseconds one Parquet window (at most 2^21 cells) may take to decode before the file is judged hostile. */
  parquetWindowMs?: number;
}

/**
 * Default caps: 4,096 columns, 1 MiB per line, 65,536 ARFF nominal values in all, no limit on inflated bytes (the service sets its --max-inflated),
 * 20 s per Parquet window (real ones take well under a second).
 */
export const TABLE_LIMITS: Readonly<Required<TableLimits>> = Object.freeze({
  maxColumns: 4096,
  maxLineBytes: 1 << 20,
  maxNominalValues: 1 << 16,
  maxInflatedBytes: Infinity,
  parquetWindowMs: 20_000,
});

/** The caps in force: the defaults overridden by what the caller set. */
export function tableLimits(l: TableLimits | undefined): Required<TableLimits> {
  return {
    maxColumns: l?.maxColumns ?? TABLE_LIMITS.maxColumns,
    maxLineBytes: l?.maxLineBytes ?? TABLE_LIMITS.maxLineBytes,
    maxNominalValues: l?.maxNominalValues ?? TABLE_LIMITS.maxNominalValues,
    maxInflatedBytes: l?.maxInflatedBytes ?? TABLE_LIMITS.maxInflatedBytes,
    parquetWindowMs: l?.parquetWindowMs ?? TABLE_LIMITS.parquetWindowMs,
  };
}

/** "1 MiB", "4 KiB" or "100 bytes", for messages. */
export function sizeText(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
