/** The flow layer's public face: meter, table, columns, writers, reference. */
export { extractFlows, Meter, meterColumns, type ExtractSummary, type MeterOptions, type MeterStats } from './meter.ts';
export { FlowTable, DEFAULT_TABLE_OPTIONS, endpointHash, type FlowTableOptions } from './table.ts';
export { Flow, formatAddr, type EndReason } from './flow.ts';
export { IDENTITY_COLUMNS, type CellValue, type ColumnDef, type ColumnRole, type ColumnType, type Direction } from './columns.ts';
export { openWriter, formatFor, csvCell, type OutputFormat, type RowWriter } from './output.ts';
export { featureReference } from './reference.ts';
export { familyNames, buildFamilies, DEFAULT_FEATURE_OPTIONS, type FeatureFamily, type FeatureOptions } from './features/index.ts';
