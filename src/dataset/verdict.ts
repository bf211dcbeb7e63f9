/**
 * The verdict columns every output writes (the service's job results; the CLI's classify always, extract and
 * predict with --catalog or --verdict), shared so every output names them alike.
 */
import { col, type CellValue, type ColumnDef } from '../flow/columns.ts';
import { cellValue, getColumn, makeTable, numberColumn, stringColumn, type Table } from './index.ts';
import { combineVerdict, nameColumns, namesAt, nameVerdict, serviceNamed, type AppModelAnswer, type Catalog, type FlowNames, type ModelAnswer } from '../names/index.ts';

export const VERDICT_COLUMNS: ColumnDef[] = [
  col('app', 'metadata', 'string', '', 'none', 'Application named by the flow\'s names or a port convention (src/names catalogue); empty when none', true),
  col('app_source', 'metadata', 'string', '', 'none', 'Where app came from: sni, cert, quic, http, dns, port, none'),
  col('category', 'metadata', 'string', '', 'none', 'Category of the verdict (docs/SERVICES.md), or unknown'),
  col('category_source', 'metadata', 'string', '', 'none', 'Where category came from: sni, cert, quic, http, dns, port, model, none'),
  col('category_confidence', 'metadata', 'float', 'ratio', 'none', 'Trust in the category\'s source (names and ports: fixed per source; model: its calibrated probability)'),
];

/** The verdict cells of one flow, in VERDICT_COLUMNS order; `app` is an application model's answer (see
 * {@link isApplicationModel}). */
export function verdictCells(names: FlowNames, catalog: Catalog, model?: ModelAnswer | null, app?: AppModelAnswer | null): CellValue[] {
  const v = combineVerdict(nameVerdict(names, catalog), model, app ? { app } : {});
  return [v.app, v.appSource, v.category, v.categorySource, Math.round(v.categoryConfidence * 1000) / 1000];
}

/**
 * Whether a model answers applications: its classes are services of the catalogue (a model `veil learn` taught
 * by names), at least four in five of them. Such a model names a flow where its names show no application.
 */
export function isApplicationModel(classes: readonly string[], catalog: Catalog): boolean {
  const real = classes.filter((c) => c !== 'unknown' && c !== 'other');
  if (real.length < 2) return false;
  return real.filter((c) => serviceNamed(catalog, c) !== null).length >= 0.8 * real.length;
}

/** An application model's answer with its service's catalogued category. */
export function appAnswer(catalog: Catalog, label: string, confidence: number, unknownReason = ''): AppModelAnswer {
  return { label, confidence, unknownReason, category: label === 'unknown' ? null : serviceNamed(catalog, label)?.category ?? null };
}

/**
 * A row sink that appends the verdict columns to every meter row (`veil extract --catalog`): the indexes of the
 * names columns are found once, from the first row's columns.
 */
export function withVerdict<R extends readonly CellValue[]>(catalog: Catalog, write: (row: CellValue[], columns: ColumnDef[]) => void): (row: R, columns: readonly ColumnDef[]) => void {
  let at: ReturnType<typeof nameColumns> | null = null;
  let cols: ColumnDef[] = [];
  return (row, columns) => {
    if (!at) { at = nameColumns(columns); cols = [...columns, ...VERDICT_COLUMNS]; }
    write([...row, ...verdictCells(namesAt(row, at), catalog)], cols);
  };
}

/** The columns of a flow table the names layer reads (absent ones read as empty). */
export const NAME_INPUTS = ['tls_sni', 'tls_protocol', 'tls_cert_subject', 'tls_cert_san', 'name_http_host', 'name_dns', 'id_protocol', 'id_src_port', 'id_dst_port'];
const NAME_INPUT_AT = nameColumns(NAME_INPUTS.map((name) => ({ name })));

/** What each row of a flow table shows in the clear, from its names columns when it has them. */
export function tableNames(input: Table): FlowNames[] {
  const cols = NAME_INPUTS.map((n) => getColumn(input, n));
  const row: CellValue[] = new Array(NAME_INPUTS.length);
  const out: FlowNames[] = new Array(input.rows);
  for (let i = 0; i < input.rows; i++) {
    for (let k = 0; k < cols.length; k++) { const c = cols[k]; row[k] = c ? cellValue(c, i) : null; }
    out[i] = namesAt(row, NAME_INPUT_AT);
  }
  return out;
}

/**
 * `veil predict --catalog`: the verdict of each row of `input` (its names columns, when it has them) combined with
 * the model's answers, as columns to add to the prediction table.
 */
export function verdictTable(input: Table, catalog: Catalog, labels: readonly string[], confidence: Float64Array): Table {
  const names = tableNames(input);
  const out: CellValue[][] = VERDICT_COLUMNS.map(() => new Array<CellValue>(input.rows));
  for (let i = 0; i < input.rows; i++) {
    const l = labels[i]!;
    const cells = verdictCells(names[i]!, catalog, { label: l, confidence: confidence[i]!, unknownReason: l === 'unknown' ? 'low_confidence' : '' });
    for (let k = 0; k < cells.length; k++) out[k]![i] = cells[k]!;
  }
  return makeTable(input.source, VERDICT_COLUMNS.map((c, k) => (c.type === 'float'
    ? numberColumn(c.name, Float64Array.from(out[k]!, (x) => Number(x)))
    : stringColumn(c.name, out[k]!.map((x) => String(x ?? ''))))));
}
