/**
 * The answer layout: the columns every answer to "what is this flow?" is written in, by `veil classify`,
 * `veil predict`, and the service's job results (docs/ANSWERS.md). One order everywhere:
 *
 *   identity (IDENTITY_COLUMNS order) | counters (packets, bytes, duration) | handshake facts and names |
 *   verdict (app ... category_confidence) | per model: NAME.label, NAME.confidence, NAME.unknown, NAME.unknown_reason
 */
import { col, IDENTITY_COLUMNS, type ColumnDef } from '../flow/columns.ts';
import { VERDICT_COLUMNS } from '../dataset/verdict.ts';

/** Which part of the layout a column belongs to. */
export type AnswerGroup = 'identity' | 'counter' | 'handshake' | 'label' | 'verdict' | 'answer';

export interface AnswerColumn extends ColumnDef {
  group: AnswerGroup;
  /** Answer columns: the model that made them. */
  model?: string;
}

/** How much the flow carried: both directions' packets and bytes, and how long it lasted. */
export const COUNTER_COLUMNS = ['fwd_pkts', 'bwd_pkts', 'fwd_bytes', 'bwd_bytes', 'duration_us'] as const;
/** What the flow shows in the clear, beside the verdict made of it. */
export const HANDSHAKE_COLUMNS = ['tls_sni', 'tls_alpn', 'tls_alpn_offered', 'tls_ja4', 'name_http_host', 'name_dns'] as const;
/** The model whose answer is the behaviour side of the verdict (names where visible, behaviour where hidden). */
export const BEHAVIOUR_MODEL = 'category';
/** Suffixes of the four columns each model answers in, in order. */
export const ANSWER_SUFFIXES = ['label', 'confidence', 'unknown', 'unknown_reason'] as const;

/** The four answer columns of one model. */
export function modelAnswerColumns(name: string, classes: readonly string[]): AnswerColumn[] {
  const a = (suffix: string, type: ColumnDef['type'], unit: string, text: string): AnswerColumn =>
    ({ ...col(`${name}.${suffix}`, 'metadata', type, unit, 'none', text), group: 'answer', model: name });
  return [
    a('label', 'string', '', `Answer of the ${name} model (${classes.join(', ')}), or 'unknown'`),
    a('confidence', 'float', 'ratio', `Calibrated probability of the ${name} model's most probable class`),
    a('unknown', 'bool', '', `True when the ${name} model answered 'unknown'`),
    a('unknown_reason', 'string', '', `Why the ${name} answer is 'unknown' (too_few_packets, out_of_distribution, low_confidence); empty when answered`),
  ];
}

/** Where a column of the input goes in the layout (identity, counter, handshake), or null when it is not shown. */
export function groupOf(name: string, isIdentity: (name: string) => boolean): AnswerGroup | null {
  if ((COUNTER_COLUMNS as readonly string[]).includes(name)) return 'counter';
  if ((HANDSHAKE_COLUMNS as readonly string[]).includes(name)) return 'handshake';
  return isIdentity(name) ? 'identity' : null;
}

const IDENTITY_ORDER = new Map(IDENTITY_COLUMNS.map((c, i) => [c.name, i]));
const COUNTER_ORDER = new Map(COUNTER_COLUMNS.map((c, i) => [c as string, i]));
const HANDSHAKE_ORDER = new Map(HANDSHAKE_COLUMNS.map((c, i) => [c as string, i]));

/**
 * The layout for inputs with these columns: the identity, counter and handshake columns present, in the layout's
 * order (identity columns the meter does not write, as a flow table from elsewhere may have, after the meter's
 * ones in input order), then a label column (service jobs on labelled tables), the verdict when asked for, and
 * each model's answers. `from[i]` is the input column of output column i, -1 for computed ones.
 */
export function answerLayout(
  input: readonly { name: string; type?: ColumnDef['type'] }[],
  models: readonly { name: string; classes: readonly string[] }[],
  opts: { verdict: boolean; isIdentity: (name: string) => boolean; label?: string | null; defs?: ReadonlyMap<string, ColumnDef> },
): { columns: AnswerColumn[]; from: number[] } {
  const shown: { at: number; group: AnswerGroup; rank: number }[] = [];
  input.forEach((c, at) => {
    if (c.name === opts.label) return;
    const group = groupOf(c.name, opts.isIdentity);
    if (!group) return;
    const rank = group === 'identity' ? (IDENTITY_ORDER.get(c.name) ?? IDENTITY_ORDER.size + at)
      : group === 'counter' ? COUNTER_ORDER.get(c.name)! : HANDSHAKE_ORDER.get(c.name)!;
    shown.push({ at, group, rank });
  });
  const groupRank: Record<string, number> = { identity: 0, counter: 1, handshake: 2 };
  shown.sort((a, b) => groupRank[a.group]! - groupRank[b.group]! || a.rank - b.rank);
  const columns: AnswerColumn[] = [];
  const from: number[] = [];
  for (const s of shown) {
    const c = input[s.at]!;
    const def = opts.defs?.get(c.name) ?? col(c.name, s.group === 'identity' ? 'identity' : 'metadata', c.type ?? 'string', '', 'none', c.name);
    columns.push({ ...def, group: s.group });
    from.push(s.at);
  }
  if (opts.label) {
    const at = input.findIndex((c) => c.name === opts.label);
    // A label column named like a verdict column (an evaluation table labelled 'category') keeps its role under
    // another name, so no column is written twice.
    const name = opts.verdict && VERDICT_COLUMNS.some((v) => v.name === opts.label) ? `true_${opts.label}` : opts.label;
    columns.push({ ...col(name, 'metadata', 'string', '', 'none', `The input's label column ${opts.label}`), group: 'label' });
    from.push(at);
  }
  if (opts.verdict) for (const v of VERDICT_COLUMNS) { columns.push({ ...v, group: 'verdict' }); from.push(-1); }
  for (const m of models) for (const c of modelAnswerColumns(m.name, m.classes)) { columns.push(c); from.push(-1); }
  return { columns, from };
}
