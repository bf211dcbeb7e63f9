/**
 * Probability calibration by temperature scaling (Guo et al. 2017): probabilities p become softmax(log p / T),
 * with T fitted on held-out rows to minimise their negative log-likelihood. One parameter: it cannot overfit a
 * few hundred rows, keeps the ranking of classes (accuracy unchanged) and fixes the over- or under-confidence that
 * thresholds such as `--unknown-below` depend on.
 */
export type Calibration =
  | { method: 'none' }
  | { method: 'temperature'; temperature: number; fittedOn: string; rows: number; nllBefore: number; nllAfter: number };

const EPS = 1e-9;

/** Mean negative log-likelihood of the true classes after temperature T. */
export function temperedNll(proba: Float64Array, K: number, y: Int32Array, T: number): number {
  const n = y.length;
  let s = 0;
  let m = 0;
  const lp = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const t = y[i]!;
    if (t < 0 || t >= K) continue;
    let mx = -Infinity;
    for (let c = 0; c < K; c++) { const v = Math.log(proba[i * K + c]! + EPS) / T; lp[c] = v; if (v > mx) mx = v; }
    let z = 0;
    for (let c = 0; c < K; c++) z += Math.exp(lp[c]! - mx);
    s -= lp[t]! - mx - Math.log(z);
    m++;
  }
  return m ? s / m : 0;
}

/**
 * Fits the temperature by golden-section search on log T in [1/20, 20].
 *
 * @example
 * const cal = fitTemperature(heldOutProba, 3, heldOutY, 'out-of-bag rows');
 * applyCalibration(proba, 3, cal);
 */
export function fitTemperature(proba: Float64Array, K: number, y: Int32Array, fittedOn: string): Calibration {
  let a = Math.log(1 / 20);
  let b = Math.log(20);
  const gr = (Math.sqrt(5) - 1) / 2;
  let c = b - gr * (b - a);
  let d = a + gr * (b - a);
  let fc = temperedNll(proba, K, y, Math.exp(c));
  let fd = temperedNll(proba, K, y, Math.exp(d));
  for (let it = 0; it < 40; it++) {
    if (fc < fd) { b = d; d = c; fd = fc; c = b - gr * (b - a); fc = temperedNll(proba, K, y, Math.exp(c)); }
    else { a = c; c = d; fc = fd; d = a + gr * (b - a); fd = temperedNll(proba, K, y, Math.exp(d)); }
  }
  const temperature = Math.exp((a + b) / 2);
  let rows = 0;
  for (let i = 0; i < y.length; i++) if (y[i]! >= 0 && y[i]! < K) rows++;
  return {
    method: 'temperature', temperature, fittedOn, rows,
    nllBefore: temperedNll(proba, K, y, 1), nllAfter: temperedNll(proba, K, y, temperature),
  };
}

/** Applies a calibration to probabilities (rows x K) in place. */
export function applyCalibration(proba: Float64Array, K: number, cal: Calibration): void {
  if (cal.method !== 'temperature' || cal.temperature === 1) return;
  const T = cal.temperature;
  const n = proba.length / K;
  for (let i = 0; i < n; i++) {
    const o = i * K;
    let mx = -Infinity;
    for (let c = 0; c < K; c++) { const v = Math.log(proba[o + c]! + EPS) / T; proba[o + c] = v; if (v > mx) mx = v; }
    let z = 0;
    for (let c = 0; c < K; c++) { const v = Math.exp(proba[o + c]! - mx); proba[o + c] = v; z += v; }
    for (let c = 0; c < K; c++) proba[o + c]! /= z;
  }
}
