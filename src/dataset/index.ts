/**
 * Flow tables: readers and writers (CSV, JSONL, Parquet, ARFF), the columnar in-memory table, column roles and
 * feature encoding, sanity checks on column order, and train/test splits.
 */
export {
  type Table, type Column, type NumberColumn, type StringColumn,
  makeTable, numberColumn, stringColumn, getColumn, requireColumn, cellValue, cellText, columnStrings, numericValues,
  selectRows, selectColumns, withColumn, renameColumns, concatTables, parseNumber, columnLength,
} from './table.ts';
export { DatasetError, DatasetErrorCode } from './errors.ts';
export { TABLE_LIMITS, type TableLimits } from './limits.ts';
export { readCsv, readCsvChunks, parseCsv, tableToCsv, CsvWriter, type CsvReadOptions } from './csv.ts';
export { readJsonl, readJsonlChunks, parseJsonl, tableToJsonl, JsonlWriter } from './jsonl.ts';
export { readParquet, readParquetChunks, parquetColumnNames, writeParquet, tableToParquet, ParquetTableWriter } from './parquet.ts';
export { readArff, readArffChunks, parseArff, type ArffHeader, type ArffAttribute } from './arff.ts';
export {
  loadTable, streamTable, detectFormat, openTableWriter, writeTable,
  type TableFormat, type LoadOptions, type LoadedTable, type TableWriter,
} from './load.ts';
export {
  checkColumnOrder, verifyColumnOrder, findStatTriples, describeOrderReport, ISCX_DECLARED_ORDER, ISCX_TRUE_ORDER,
  type ColumnOrderReport, type TripleCheck, type ColumnOrderPolicy, type OrderVerdict,
} from './checks.ts';
export { assignRoles, identityReason, leakReason, type RoleOptions, type ColumnRoles, type ExcludedColumn } from './roles.ts';
export { planFeatures, encodeFeatures, encodeLabels, missingColumns, type FeatureSpec, type EncodeOptions, type EncodedLabels } from './encode.ts';
export { stratifiedKFold, holdout, groupKFold, blockedKFold, groupCodes, untestableClasses, type Split, type SplitInfo, type Fold } from './splits.ts';
export { Rng, deriveSeed } from '../core/rng.ts';
