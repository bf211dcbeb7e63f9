import type { CellValue, ColumnDef } from '../flow/columns.ts';
import { makeTable, numberColumn, stringColumn, type Column, type Table } from './table.ts';

/** Flow rows as the meter writes them (one CellValue per column) into a columnar table for the models. */
export function flowRowsToTable(source: string, columns: readonly ColumnDef[], rows: readonly (readonly CellValue[])[]): Table {
  const cols: Column[] = columns.map((c, j) => {
    if (c.type === 'string') return stringColumn(c.name, rows.map((r) => { const v = r[j]; return v === null || v === undefined ? null : String(v); }));
    const values = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i]![j];
      values[i] = v === null || v === undefined ? NaN : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
    }
    return numberColumn(c.name, values);
  });
  return makeTable(source, cols);
}
