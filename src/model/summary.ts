import type { EvaluationResult } from './evaluation.ts';

/** A plain-text summary of an evaluation result for the terminal. */
export function formatEvaluation(r: EvaluationResult, opts: { perClass?: boolean } = {}): string {
  const pct = (x: number): string => (100 * x).toFixed(2).padStart(6) + ' %';
  const lines: string[] = [];
  lines.push(`split: ${r.split.description}`);
  lines.push(`rows: ${r.data.rows}  classes: ${r.classes.length}`);
  lines.push(`accuracy          ${pct(r.accuracy)}`);
  lines.push(`balanced accuracy ${pct(r.balancedAccuracy)}`);
  lines.push(`macro F1          ${pct(r.macro.f1)}   (precision ${pct(r.macro.precision)}, recall ${pct(r.macro.recall)})`);
  lines.push(`weighted F1       ${pct(r.weighted.f1)}`);
  const tk = Object.entries(r.topK).filter(([k]) => k !== '1').map(([k, v]) => `top-${k} ${pct(v).trim()}`);
  if (tk.length) lines.push(tk.join('  '));
  if (r.unknown.threshold > 0 || r.unknown.count > 0) {
    lines.push(`unknown answers   ${r.unknown.count} (${pct(r.data.rows ? r.unknown.count / r.data.rows : 0).trim()}; below confidence ${r.unknown.threshold} or novel)`);
  }
  if (r.openSet) {
    lines.push(`unseen classes    ${r.openSet.unseenClasses.join(', ')}: ${r.openSet.unknown} of ${r.openSet.rows} rows answered unknown (${pct(r.openSet.unknownRate).trim()})`);
  }
  if (opts.perClass !== false) {
    const w = Math.max(5, ...r.perClass.map((p) => p.label.length));
    lines.push('');
    lines.push(`${'class'.padEnd(w)}  precision  recall     F1   support`);
    for (const p of r.perClass) {
      if (p.support === 0 && p.precision === 0) continue;
      lines.push(`${p.label.padEnd(w)}  ${p.precision.toFixed(3).padStart(9)}  ${p.recall.toFixed(3).padStart(6)}  ${p.f1.toFixed(3).padStart(5)}  ${String(p.support).padStart(8)}`);
    }
  }
  const perm = r.featureImportance.some((f) => f.permutation !== 0);
  const key = (f: { impurity: number; permutation: number }): number => (perm ? f.permutation : f.impurity);
  const imp = [...r.featureImportance].sort((a, b) => key(b) - key(a)).slice(0, 8);
  if (imp.length && imp.some((f) => f.impurity > 0 || f.permutation !== 0)) {
    lines.push('');
    lines.push(perm ? 'most important features (permutation: macro-F1 drop; impurity share):' : 'most important features (impurity share):');
    for (const f of imp) lines.push(`  ${f.feature.padEnd(28)} ${perm ? `${f.permutation.toFixed(3)}  ` : ''}${f.impurity.toFixed(3)}`);
  }
  const ps = r.permutationSample;
  if (ps) {
    lines.push(`permutation importance sampled ${ps.rows} of ${ps.labelledRows} labelled rows (stratified, seed ${ps.seed}), ` +
      `${ps.repeats} repeat${ps.repeats > 1 ? 's' : ''}, ${ps.features} features permuted` +
      `${ps.unusedFeatures ? `; ${ps.unusedFeatures} no tree splits on count 0` : ''}` +
      `${ps.features + ps.unusedFeatures < r.featureImportance.length ? `; the other ${r.featureImportance.length - ps.features - ps.unusedFeatures} (lowest impurity) not computed, 0` : ''}`);
  }
  return lines.join('\n') + '\n';
}
