import type { Table } from './table.ts';
import { renameColumns } from './table.ts';

/**
 * Sanity checks that catch columns whose names do not match their contents. A statistic triple of one quantity
 * (`min_x`, `mean_x`, `max_x`; `Fwd IAT Min`, `Fwd IAT Mean`, `Fwd IAT Max`) must satisfy min <= mean <= max on
 * nearly every row; when it fails on most rows the header is lying about the column order (the ISCX 2016 15/30/120 s
 * files do exactly that), and a model trained on it learns from mislabelled columns.
 */
export interface TripleCheck {
  /** The quantity, with the statistic replaced by `*` (e.g. `*_fiat`). */
  stem: string;
  min: string;
  mean: string;
  max: string;
  /** Rows where all three values are present, finite and not the -1 "no such period" sentinel. */
  rows: number;
  /** Share of those rows with min <= mean <= max. */
  share: number;
}

export interface ColumnOrderReport {
  triples: TripleCheck[];
  /** Triples holding on under half of their rows. */
  suspicious: TripleCheck[];
  /** True when any triple is suspicious: the columns look permuted. */
  permuted: boolean;
}

/** Share of rows below which a triple is called suspicious. */
export const TRIPLE_SHARE_FLOOR = 0.5;

const STAT: Record<string, 'min' | 'mean' | 'max'> = {
  min: 'min', minimum: 'min', mean: 'mean', avg: 'mean', average: 'mean', max: 'max', maximum: 'max',
};

function tokens(name: string): string[] {
  return name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** Finds the min/mean/max triples among the numeric columns by name. */
export function findStatTriples(names: readonly string[]): { stem: string; min: string; mean: string; max: string }[] {
  const groups = new Map<string, Partial<Record<'min' | 'mean' | 'max', string>>>();
  for (const n of names) {
    const t = tokens(n);
    const idx = t.findIndex((x) => STAT[x] !== undefined);
    if (idx < 0 || t.filter((x) => STAT[x] !== undefined).length !== 1) continue;
    const stat = STAT[t[idx]!]!;
    const stem = t.map((x, i) => (i === idx ? '*' : x)).join('_');
    const g = groups.get(stem) ?? {};
    if (g[stat] === undefined) g[stat] = n;
    groups.set(stem, g);
  }
  const out: { stem: string; min: string; mean: string; max: string }[] = [];
  for (const [stem, g] of groups) if (g.min && g.mean && g.max) out.push({ stem, min: g.min, mean: g.mean, max: g.max });
  return out;
}

/**
 * Checks every min/mean/max triple of the table.
 *
 * @example
 * const r = checkColumnOrder(table);
 * if (r.permuted) console.warn(describeOrderReport(r));
 */
export function checkColumnOrder(t: Table, names?: ReadonlyMap<string, string>): ColumnOrderReport {
  // `names` maps a column's real name to the name it would have under another header (used to test a fix).
  const numeric = new Map<string, Float64Array>();
  for (const c of t.columns) if (c.kind === 'number') numeric.set(names?.get(c.name) ?? c.name, c.values);
  const triples: TripleCheck[] = [];
  for (const tr of findStatTriples([...numeric.keys()])) {
    const a = numeric.get(tr.min)!;
    const b = numeric.get(tr.mean)!;
    const c = numeric.get(tr.max)!;
    let rows = 0;
    let ok = 0;
    for (let i = 0; i < t.rows; i++) {
      const x = a[i]!, y = b[i]!, z = c[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) continue;
      if (x === -1 || z === -1) continue;
      rows++;
      // ISCX prints some means with three significant digits (14500000 for 14512571): allow 1 % slack.
      const tol = 0.01 * Math.max(Math.abs(x), Math.abs(y), Math.abs(z));
      if (x <= y + tol && y <= z + tol) ok++;
    }
    triples.push({ ...tr, rows, share: rows ? ok / rows : 1 });
  }
  const suspicious = triples.filter((x) => x.rows >= 20 && x.share < TRIPLE_SHARE_FLOOR);
  return { triples, suspicious, permuted: suspicious.length > 0 };
}

export function describeOrderReport(r: ColumnOrderReport): string {
  return r.suspicious
    .map((x) => `${x.min} <= ${x.mean} <= ${x.max} holds on ${(100 * x.share).toFixed(1)} % of ${x.rows} rows`)
    .join('; ');
}

/** Column order the ISCX 2016 15/30/120 s A1/B and Tor-A files declare (wrongly). */
export const ISCX_DECLARED_ORDER = [
  'duration', 'total_fiat', 'total_biat', 'min_fiat', 'min_biat', 'max_fiat', 'max_biat', 'mean_fiat', 'mean_biat',
  'flowPktsPerSecond', 'flowBytesPerSecond', 'min_flowiat', 'max_flowiat', 'mean_flowiat', 'std_flowiat',
  'min_active', 'mean_active', 'max_active', 'std_active', 'min_idle', 'mean_idle', 'max_idle', 'std_idle',
] as const;

/** Column order their data really follows: the order the 60 s files declare. */
export const ISCX_TRUE_ORDER = [
  'duration', 'min_fiat', 'min_biat', 'max_fiat', 'max_biat', 'mean_fiat', 'mean_biat', 'std_fiat', 'std_biat',
  'flowPktsPerSecond', 'flowBytesPerSecond', 'min_flowiat', 'max_flowiat', 'mean_flowiat', 'std_flowiat',
  'min_active', 'mean_active', 'max_active', 'std_active', 'min_idle', 'mean_idle', 'max_idle', 'std_idle',
] as const;

export type ColumnOrderPolicy = 'fix' | 'refuse' | 'keep';

export interface OrderVerdict {
  /** The table to use: renamed when a known header error was fixed. */
  table: Table;
  report: ColumnOrderReport;
  /** 'fixed': the ISCX header was replaced by the 60 s order; 'permuted': the check fails and no fix is known. */
  status: 'ok' | 'fixed' | 'permuted';
  message?: string;
  /** The command-line option that changes the outcome, for CLI users (kept out of `message`: API users pass no flags). */
  flagAdvice?: string;
}

/**
 * Runs the column-order check and, for the known ISCX header error, renames the columns to the order their data
 * follows (policy 'fix', the default) after confirming that the renamed triples pass.
 */
export function verifyColumnOrder(t: Table, policy: ColumnOrderPolicy = 'fix'): OrderVerdict {
  const report = checkColumnOrder(t);
  if (!report.permuted) return { table: t, report, status: 'ok' };
  const names = t.columns.map((c) => c.name);
  const start = names.indexOf(ISCX_DECLARED_ORDER[0]);
  const isIscx = start >= 0 && ISCX_DECLARED_ORDER.every((n, i) => names[start + i] === n);
  if (isIscx) {
    const map = new Map<string, string>(ISCX_DECLARED_ORDER.map((n, i) => [n, ISCX_TRUE_ORDER[i]!]));
    const after = checkColumnOrder(t, map);
    if (!after.permuted) {
      const was = describeOrderReport(report);
      const known =
        `${t.source}: the declared column order is wrong (${was}). This is the known ISCX 2016 header error: ` +
        `the data follow the 60 s files' order (duration,min_fiat,min_biat,max_fiat,...,std_fiat,std_biat,...).`;
      if (policy !== 'fix') {
        return { table: t, report, status: 'permuted', message: known, flagAdvice: '--column-order fix renames the columns to that order.' };
      }
      const now = after.triples.map((x) => `${x.stem} ${(100 * x.share).toFixed(0)} %`).join(', ');
      return {
        table: renameColumns(t, map),
        report: after,
        status: 'fixed',
        message: `${known} Columns renamed to that order (min <= mean <= max now holds: ${now}).`,
        flagAdvice: 'Use --column-order refuse to stop instead.',
      };
    }
  }
  return {
    table: t,
    report,
    status: 'permuted',
    message:
      `${t.source}: the columns look permuted: ${describeOrderReport(report)}. ` +
      `A model trained on this learns from mislabelled columns; check the header against the data.`,
  };
}
