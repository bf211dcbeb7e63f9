// @ts-check
// A job's flows: the sortable table (analyst's column order, values formatted by the kind the server gives each
// column), filters (free text and exact column=value), grouping by host, service, SNI or category, and a flow's
// detail (every column, the handshake, the answers with their sources).
import { get } from '../api.js';
import { h, errorBox, fmtBytes } from '../ui.js';
import { cell, cellText, columnLabel, confidenceBar, displayOrder, protocolName, unknownFlags } from '../format.js';

/** @typedef {import('../format.js').Column} Column */
/** @typedef {import('../format.js').Cell} Cell */

const PAGE = 100;

/** What an analyst groups by, by kind and column; only the ones the results have are offered. */
const GROUPINGS = [
  ['id_dst_addr', 'server (host)'], ['id_src_addr', 'client (host)'], ['app', 'service'], ['tls_sni', 'SNI'],
  ['category', 'category'], ['name_http_host', 'HTTP host'], ['name_dns', 'DNS name'], ['id_dst_port', 'server port'], ['id_protocol', 'protocol'],
];

/**
 * @param {string} id job id
 * @returns {HTMLElement}
 */
export function flowsSection(id) {
  /** @type {{ offset: number, sort: string, desc: boolean, q: string, all: boolean, where: [string, string][], by: string }} */
  const state = { offset: 0, sort: '', desc: false, q: '', all: false, where: [], by: '' };
  const thead = h('thead');
  const tbody = h('tbody');
  const info = h('span.muted', { id: 'results-info' });
  const prev = /** @type {HTMLButtonElement} */ (h('button', { id: 'prev-page', onclick: () => { state.offset = Math.max(0, state.offset - PAGE); load(); } }, '‹ Previous'));
  const next = /** @type {HTMLButtonElement} */ (h('button', { id: 'next-page', onclick: () => { state.offset += PAGE; load(); } }, 'Next ›'));
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let debounce;
  const filter = /** @type {HTMLInputElement} */ (h('input', {
    id: 'results-filter', type: 'search', placeholder: 'Filter rows (any value: address, SNI, service …)', size: 36,
    oninput: () => { clearTimeout(debounce); debounce = setTimeout(() => { state.q = filter.value.trim(); state.offset = 0; load(); }, 250); },
  }));
  const groupBy = /** @type {HTMLSelectElement} */ (h('select', { id: 'group-by', 'aria-label': 'Group by', onchange: () => { state.by = groupBy.value; loadGroups(); } }, h('option', { value: '' }, 'no grouping')));
  const chips = h('div.chips', { id: 'active-filters' });
  const groups = h('div.groups', { id: 'groups', hidden: true });
  const table = h('table.data.results', { id: 'results-table' }, thead, tbody);
  const allBox = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'all-columns', onchange: () => { state.all = allBox.checked; load(); } }));
  const detail = /** @type {HTMLDialogElement} */ (h('dialog.detail', { id: 'flow-detail' }));
  const section = h('section', { id: 'flows' }, h('h2', {}, 'Flows'),
    h('div.row', {}, filter, h('label', {}, 'Group by ', groupBy), h('label.muted', {}, allBox, ' all columns')),
    chips, groups,
    h('div.row', {}, info, prev, next, h('span.muted.hint', {}, 'click a flow for its detail')),
    h('div.scroll', {}, table), detail);
  /** @type {Column[]} */
  let columns = [];
  /** @type {number[]} */
  let shown = [];
  let offered = false;

  const whereParams = () => state.where.map(([c, v]) => `${c}=${v}`);

  function showChips() {
    chips.replaceChildren(...state.where.map(([c, v], i) => {
      const col = columns.find((x) => x.name === c);
      const text = col ? `${columnLabel(col)} = ${cellText(col, v === '' ? null : (col.type === 'string' ? v : Number(v))) || '(empty)'}` : `${c} = ${v}`;
      return h('span.chip.filter', { dataset: { col: c } }, text,
        h('button.link', { title: 'Remove this filter', 'aria-label': `remove filter ${c}`, onclick: () => { state.where.splice(i, 1); state.offset = 0; load(); loadGroups(); } }, ' ×'));
    }));
  }

  /**
   * Keeps only the flows whose `column` is `value` (clicking a group, or a value in a flow's detail).
   * @param {string} column
   * @param {string} value
   */
  function addWhere(column, value) {
    state.where = state.where.filter(([c]) => c !== column).concat([[column, value]]);
    state.offset = 0;
    load();
    loadGroups();
  }

  function header() {
    thead.replaceChildren(h('tr', {}, ...shown.map((i) => columns[i]).filter((c) => c !== undefined).map((c) => {
      const active = state.sort === c.name;
      return h('th', {
        dataset: { col: c.name, kind: c.kind },
        class: `sortable ${c.role}${active ? (state.desc ? ' desc' : ' asc') : ''}`,
        title: `${c.name}${c.description ? `: ${c.description}` : ''} (click to sort)`,
        'aria-sort': active ? (state.desc ? 'descending' : 'ascending') : 'none',
        onclick: () => {
          if (state.sort === c.name) state.desc = !state.desc;
          else { state.sort = c.name; state.desc = false; }
          state.offset = 0;
          load();
        },
      }, columnLabel(c));
    })));
  }

  async function load() {
    /** @type {{ columns: Column[], rows: Cell[][], total: number, matched: number }} */
    let page;
    try {
      page = await get(`/jobs/${id}/results`, { offset: state.offset, limit: PAGE, sort: state.sort, desc: state.desc || '', q: state.q, where: whereParams() });
    } catch (e) {
      tbody.replaceChildren(h('tr', {}, h('td', {}, errorBox(e))));
      return;
    }
    columns = page.columns;
    if (!offered) {
      offered = true;
      for (const [name, label] of GROUPINGS) if (columns.some((c) => c.name === name)) groupBy.append(h('option', { value: name }, label));
    }
    shown = displayOrder(columns, state.all);
    header();
    showChips();
    const flags = unknownFlags(columns);
    tbody.replaceChildren(...page.rows.map((row, r) => h('tr', {
      tabindex: 0, dataset: { row: state.offset + r },
      onclick: () => openDetail(row),
      onkeydown: (/** @type {KeyboardEvent} */ e) => { if (e.key === 'Enter') openDetail(row); },
    }, ...shown.map((i) => {
      const c = /** @type {Column} */ (columns[i]);
      const u = flags.get(i);
      return cell(c, row[i] ?? null, u !== undefined ? { unknown: row[u] === true } : {});
    }))));
    const end = Math.min(page.matched, state.offset + page.rows.length);
    info.textContent = page.matched === 0 ? 'no rows' : `rows ${state.offset + 1}–${end} of ${page.matched.toLocaleString('en')}${page.matched !== page.total ? ` (filtered from ${page.total.toLocaleString('en')})` : ''}`;
    prev.disabled = state.offset === 0;
    next.disabled = end >= page.matched;
  }

  async function loadGroups() {
    if (!state.by) { groups.hidden = true; groups.replaceChildren(); return; }
    groups.hidden = false;
    /** @type {{ by: string, groups: number, matched: number, rows: { value: string, flows: number, bytes: number | null }[] }} */
    let g;
    try {
      g = await get(`/jobs/${id}/groups`, { by: state.by, q: state.q, where: whereParams(), limit: 25 });
    } catch (e) {
      groups.replaceChildren(errorBox(e));
      return;
    }
    const col = columns.find((c) => c.name === state.by);
    const hasBytes = g.rows.some((r) => r.bytes !== null);
    const max = Math.max(1, ...g.rows.map((r) => r.flows));
    groups.replaceChildren(
      h('table.data.group-table', { id: 'group-table', dataset: { by: g.by } },
        h('thead', {}, h('tr', {}, h('th', {}, col ? columnLabel(col) : g.by), h('th.num', {}, 'flows'), hasBytes ? h('th.num', {}, 'bytes') : null, h('th', {}, 'share of flows'))),
        h('tbody', {}, ...g.rows.map((r) => h('tr', { dataset: { value: r.value }, title: 'Show only these flows', onclick: () => addWhere(g.by, r.value) },
          h('td', { title: r.value }, r.value === '' ? h('span.muted', {}, '(empty)') : col ? cellText(col, col.type === 'string' ? r.value : Number(r.value)) : r.value),
          h('td.num', {}, r.flows.toLocaleString('en')),
          hasBytes ? h('td.num', {}, fmtBytes(r.bytes ?? 0)) : null,
          h('td', {}, h('span.share', {}, h('span.fill', { style: `width:${(100 * r.flows / max).toFixed(1)}%` }))))))),
      h('p.muted', {}, `${g.groups.toLocaleString('en')} distinct values among ${g.matched.toLocaleString('en')} flows${g.groups > g.rows.length ? `; the ${g.rows.length} largest shown` : ''}. Click one to filter.`));
  }

  /**
   * Every column of one flow, grouped: endpoints and time, traffic, handshake, the answers with their sources,
   * the rest.
   * @param {Cell[]} row
   */
  function openDetail(row) {
    /** @param {(c: Column) => boolean} pred */
    const pick = (pred) => columns.map((c, i) => /** @type {[Column, number]} */ ([c, i])).filter(([c]) => pred(c));
    /** @type {Set<number>} */
    const used = new Set();
    /** @param {string} title @param {[Column, number][]} cols */
    const block = (title, cols) => {
      for (const [, i] of cols) used.add(i);
      if (!cols.length) return null;
      return h('section.block', { dataset: { block: title } }, h('h3', {}, title), h('dl', {}, ...cols.flatMap(([c, i]) => {
        const v = row[i] ?? null;
        const shownValue = c.kind === 'confidence' && typeof v === 'number' ? confidenceBar(v) : cellText(c, v);
        const filterable = v !== null && v !== '' && c.kind !== 'time' && c.kind !== 'confidence' && c.kind !== 'flow';
        return [
          h('dt', { title: c.description || c.name }, columnLabel(c), h('span.muted.colname', {}, ` ${c.name}`)),
          h('dd', { dataset: { col: c.name } }, shownValue === '' ? h('span.muted', {}, '—') : shownValue,
            filterable ? h('button.link.only', { title: 'Show only flows with this value', onclick: () => { detail.close(); addWhere(c.name, String(v === true ? 1 : v === false ? 0 : v)); } }, ' filter') : null),
        ];
      })));
    };
    /** @param {string} name */
    const at = (name) => columns.findIndex((c) => c.name === name);
    /** @param {string} name */
    const val = (name) => { const i = at(name); return i >= 0 ? row[i] ?? null : null; };
    const answers = pick((c) => c.role !== 'prediction' && ['service', 'category', 'source', 'confidence'].includes(c.kind) && c.role !== 'label');
    const models = [...new Set(columns.filter((c) => c.role === 'prediction' && c.model).map((c) => /** @type {string} */ (c.model)))];
    const proto = protocolName(val('id_protocol'));
    const title = `${val('id_src_addr') ?? '?'}:${val('id_src_port') ?? '?'} → ${val('id_dst_addr') ?? '?'}:${val('id_dst_port') ?? '?'} ${proto}`;
    detail.replaceChildren(
      h('div.detail-head', {}, h('h2', {}, `Flow ${val('id_flow') ?? val('row') ?? ''}`), h('button', { id: 'close-detail', onclick: () => detail.close() }, 'Close')),
      h('p.mono', {}, title),
      ...[
        block('Endpoints and time', pick((c) => ['flow', 'address', 'port', 'protocol', 'time'].includes(c.kind) || (c.role === 'identity' && c.kind === 'text'))),
        block('Traffic', pick((c) => ['packets', 'bytes', 'duration'].includes(c.kind))),
        block('Handshake', pick((c) => ['name', 'fingerprint', 'alpn'].includes(c.kind))),
        block('Answer (names where visible, behaviour where hidden, unknown where unsure)', answers),
        ...models.map((m) => block(`Model ${m}`, pick((c) => c.role === 'prediction' && c.model === m))),
        block('True label', pick((c) => c.kind === 'truth')),
      ].filter((x) => x !== null),
    );
    const rest = columns.map((c, i) => /** @type {[Column, number]} */ ([c, i])).filter(([, i]) => !used.has(i));
    const other = block('Other columns', rest);
    if (other) detail.append(other);
    detail.showModal();
  }

  load();
  return section;
}
