import { VeilError } from '../core/errors.ts';

/** Stable codes of dataset errors (bad input files, missing columns). */
export const DatasetErrorCode = {
  /** A file could not be parsed: the message names file, line and column. */
  MALFORMED: 'DATASET_MALFORMED',
  /** The file's format is not one we read (by extension or content). */
  UNSUPPORTED_FORMAT: 'DATASET_UNSUPPORTED_FORMAT',
  /** A column the caller asked for (label, group, feature) is absent. */
  MISSING_COLUMN: 'DATASET_MISSING_COLUMN',
  /** A column holds the wrong kind of values (text where numbers are needed). */
  BAD_COLUMN: 'DATASET_BAD_COLUMN',
  /** The columns look permuted (min > mean > max in most rows) and the caller asked to refuse. */
  PERMUTED_COLUMNS: 'DATASET_PERMUTED_COLUMNS',
  /** A split cannot be made as asked (too few rows, groups or classes). */
  BAD_SPLIT: 'DATASET_BAD_SPLIT',
} as const;
export type DatasetErrorCode = (typeof DatasetErrorCode)[keyof typeof DatasetErrorCode];

export class DatasetError extends VeilError {
  constructor(code: DatasetErrorCode, message: string) {
    super(code, message);
    this.name = 'DatasetError';
  }
}

/** "file:line" or "file:line, column 'name'" for messages. */
export function where(file: string, line?: number, column?: string): string {
  let s = file;
  if (line !== undefined) s += `:${line}`;
  if (column !== undefined) s += `, column '${column}'`;
  return s;
}
