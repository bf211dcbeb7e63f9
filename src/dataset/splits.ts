import { Rng } from '../core/rng.ts';
import { DatasetError, DatasetErrorCode } from './errors.ts';

/**
 * Train/test splits. Every function returns folds of row indices (ascending) plus a description that evaluation
 * reports carry, so a number is never quoted without the split that produced it. Rows with a missing label
 * (y < 0) are left out of every fold.
 */
export interface SplitInfo {
  kind: 'kfold' | 'holdout' | 'group' | 'blocked' | 'none';
  folds?: number;
  testShare?: number;
  groupBy?: string;
  shuffled: boolean;
  seed: number;
  description: string;
}

export interface Fold {
  train: Int32Array;
  test: Int32Array;
}

export interface Split {
  info: SplitInfo;
  folds: Fold[];
}

function byClass(y: Int32Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    if (c < 0) continue;
    (out[c] ??= []).push(i);
  }
  return out.filter((x) => x !== undefined);
}

/** Builds folds from a per-row fold number (-1 = in no fold). */
function foldsFrom(assign: Int32Array, k: number): Fold[] {
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    let nt = 0, nr = 0;
    for (let i = 0; i < assign.length; i++) { const a = assign[i]!; if (a === f) nt++; else if (a >= 0) nr++; }
    const test = new Int32Array(nt), train = new Int32Array(nr);
    let a = 0, b = 0;
    for (let i = 0; i < assign.length; i++) {
      const x = assign[i]!;
      if (x === f) test[a++] = i;
      else if (x >= 0) train[b++] = i;
    }
    folds.push({ train, test });
  }
  return folds;
}

function checkK(k: number, n: number): void {
  if (!Number.isInteger(k) || k < 2) throw new DatasetError(DatasetErrorCode.BAD_SPLIT, `folds must be an integer >= 2 (got ${k})`);
  if (n < k) throw new DatasetError(DatasetErrorCode.BAD_SPLIT, `${k} folds need at least ${k} labelled rows (have ${n})`);
}

/**
 * Stratified k-fold: each class's rows shuffled (seeded) and dealt round-robin over the folds, so every fold has
 * nearly the class mix of the whole. Overstates accuracy when neighbouring rows are alike (see blockedKFold).
 *
 * @example
 * const { folds } = stratifiedKFold(y, 5, 0);
 */
export function stratifiedKFold(y: Int32Array, k: number, seed = 0): Split {
  const classes = byClass(y);
  checkK(k, classes.reduce((s, c) => s + c.length, 0));
  const rng = new Rng(seed);
  const assign = new Int32Array(y.length).fill(-1);
  let offset = 0;
  for (const rows of classes) {
    rng.shuffle(rows);
    // Continue the rotation across classes so remainders do not all land in fold 0.
    for (let i = 0; i < rows.length; i++) assign[rows[i]!] = (offset + i) % k;
    offset = (offset + rows.length) % k;
  }
  return {
    info: {
      kind: 'kfold', folds: k, shuffled: true, seed,
      description: `stratified ${k}-fold cross-validation, rows shuffled (seed ${seed}); every fold keeps the class mix. ` +
        'Neighbouring rows of one capture land in train and test alike, which overstates accuracy on flow data.',
    },
    folds: foldsFrom(assign, k),
  };
}

/** Stratified hold-out: `testShare` of each class (at least one row of classes with two or more) goes to test. */
export function holdout(y: Int32Array, testShare: number, seed = 0): Split {
  if (!(testShare > 0 && testShare < 1)) throw new DatasetError(DatasetErrorCode.BAD_SPLIT, `test share must be in (0, 1) (got ${testShare})`);
  const rng = new Rng(seed);
  const assign = new Int32Array(y.length).fill(-1);
  for (const rows of byClass(y)) {
    rng.shuffle(rows);
    let nt = Math.round(rows.length * testShare);
    if (nt === 0 && rows.length >= 2) nt = 1;
    if (nt === rows.length && rows.length >= 2) nt = rows.length - 1;
    for (let i = 0; i < rows.length; i++) assign[rows[i]!] = i < nt ? 0 : 1;
  }
  const [f] = foldsFrom(assign, 1);
  // foldsFrom(…, 1) puts fold 0 in test and everything else (fold 1) in train.
  return {
    info: {
      kind: 'holdout', testShare, shuffled: true, seed,
      description: `stratified hold-out: ${(testShare * 100).toFixed(0)} % of each class for testing, rows shuffled (seed ${seed})`,
    },
    folds: [f!],
  };
}

/**
 * Group k-fold: all rows of one group (capture file, session, host) fall in the same fold, so the model is always
 * tested on groups it never saw. Groups are placed largest first into the currently smallest fold (ties broken by
 * a seeded shuffle). With fewer groups than folds, one fold per group.
 */
export function groupKFold(groups: Int32Array, y: Int32Array, k: number, seed = 0, groupBy = 'group'): Split {
  const sizes = new Map<number, number>();
  for (let i = 0; i < groups.length; i++) {
    if (y[i]! < 0) continue;
    const g = groups[i]!;
    sizes.set(g, (sizes.get(g) ?? 0) + 1);
  }
  const ids = [...sizes.keys()].sort((a, b) => a - b);
  if (ids.length < 2) {
    throw new DatasetError(DatasetErrorCode.BAD_SPLIT, `a group split needs at least 2 groups in '${groupBy}' (found ${ids.length})`);
  }
  const kk = Math.min(k, ids.length);
  checkK(kk, ids.length);
  new Rng(seed).shuffle(ids);
  ids.sort((a, b) => sizes.get(b)! - sizes.get(a)!); // stable: the shuffle breaks ties
  const load = new Float64Array(kk);
  const foldOf = new Map<number, number>();
  for (const g of ids) {
    let best = 0;
    for (let f = 1; f < kk; f++) if (load[f]! < load[best]!) best = f;
    foldOf.set(g, best);
    load[best]! += sizes.get(g)!;
  }
  const assign = new Int32Array(groups.length).fill(-1);
  for (let i = 0; i < groups.length; i++) if (y[i]! >= 0) assign[i] = foldOf.get(groups[i]!)!;
  return {
    info: {
      kind: 'group', folds: kk, groupBy, shuffled: false, seed,
      description: `group ${kk}-fold by '${groupBy}' (${ids.length} groups): no ${groupBy} has rows in both train and test` +
        (kk < k ? ` (asked for ${k} folds, only ${ids.length} groups)` : ''),
    },
    folds: foldsFrom(assign, kk),
  };
}

/**
 * Blocked k-fold: each class's rows, in file order, are cut into k contiguous blocks and fold j tests on the j-th
 * block of every class. Neighbouring rows (same capture, same minute) stay together, so the score says how the
 * model does on traffic recorded apart from its training traffic; classes keep their share in every fold.
 */
export function blockedKFold(y: Int32Array, k: number): Split {
  const classes = byClass(y);
  checkK(k, classes.reduce((s, c) => s + c.length, 0));
  const assign = new Int32Array(y.length).fill(-1);
  for (const rows of classes) {
    const n = rows.length;
    for (let i = 0; i < n; i++) assign[rows[i]!] = Math.min(k - 1, Math.floor((i * k) / n));
  }
  return {
    info: {
      kind: 'blocked', folds: k, shuffled: false, seed: 0,
      description: `blocked ${k}-fold: each class's rows cut in file order into ${k} contiguous blocks, fold j tests on ` +
        'block j of every class, so neighbouring rows never straddle train and test',
    },
    folds: foldsFrom(assign, k),
  };
}

/** Group codes of a column's values (any column kind), for groupKFold. */
export function groupCodes(values: ArrayLike<string | number | null>): Int32Array {
  const idx = new Map<string | number, number>();
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? '\u0000missing';
    let c = idx.get(v);
    if (c === undefined) { c = idx.size; idx.set(v, c); }
    out[i] = c;
  }
  return out;
}

/**
 * Classes a split can never test: in no fold do they have rows in both train and test, so every test row of
 * theirs is a class the model did not see (a grouped split where the class lives in one group). Their scores are
 * zero whatever the model, and they pull macro-F1 down and the calibration temperature up.
 *
 * @example
 * untestableClasses(groupKFold(groups, y, 5), y, classes.length); // [2, 5]: classes 2 and 5 sit in one group each
 */
export function untestableClasses(split: Split, y: Int32Array, classes: number): number[] {
  const testable = new Uint8Array(classes);
  const inTrain = new Uint8Array(classes);
  for (const f of split.folds) {
    inTrain.fill(0);
    for (let i = 0; i < f.train.length; i++) { const c = y[f.train[i]!]!; if (c >= 0) inTrain[c] = 1; }
    for (let i = 0; i < f.test.length; i++) { const c = y[f.test[i]!]!; if (c >= 0 && inTrain[c]) testable[c] = 1; }
  }
  const seen = new Uint8Array(classes);
  for (let i = 0; i < y.length; i++) if (y[i]! >= 0) seen[y[i]!] = 1;
  const out: number[] = [];
  for (let c = 0; c < classes; c++) if (seen[c] && !testable[c]) out.push(c);
  return out;
}
