// @ts-check
import { del, get } from '../api.js';
import { h, badge, errorBox, fmtBytes, fmtTime, progressBar, notify } from '../ui.js';

/** Jobs list with live status: polls every second while any job is queued or running, every 5 s otherwise. */
/** @param {HTMLElement} root */
export async function jobsView(root) {
  const body = h('tbody');
  const err = h('div');
  const table = h('table.data', { id: 'jobs-table' },
    h('thead', {}, h('tr', {}, ...['Job', 'Input', 'Models', 'State', 'Progress', 'Flows', 'Created', ''].map((t) => h('th', {}, t)))),
    body);
  root.append(h('h1', {}, 'Jobs'), err, table);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let stopped = false;

  async function refresh() {
    let busy = false;
    try {
      const { jobs } = await get('/jobs', { limit: 200 });
      err.replaceChildren();
      body.replaceChildren(...jobs.map((/** @type {import('./job.js').Job} */ j) => {
        if (j.state === 'queued' || j.state === 'running') busy = true;
        return h('tr', { dataset: { id: j.id, state: j.state } },
          h('td', {}, h('a', { href: j.type === 'train' ? `#/train/${j.id}` : `#/jobs/${j.id}` }, j.id)),
          h('td', {}, j.inputName, j.inputKind ? h('span.muted', {}, ` ${j.inputKind.format}, ${fmtBytes(j.inputBytes)}`) : null),
          h('td', {}, j.type === 'train' && j.train ? h('span', {}, `trains ${j.train.name}`) : (j.models ?? []).join(', ') || h('span.muted', {}, 'none')),
          h('td', {}, badge(j.state)),
          h('td', {}, j.state === 'running' || j.state === 'queued' ? progressBar(j.progress) : j.error ? h('span.muted', { title: j.error.message }, j.error.code) : ''),
          h('td.num', {}, j.summary ? j.summary.rows.toLocaleString() : ''),
          h('td', {}, fmtTime(j.createdAt)),
          h('td', {}, h('button.link', {
            onclick: async () => {
              if (!confirm(`Delete job ${j.id} and its results?`)) return;
              try { await del(`/jobs/${j.id}`); notify(`Deleted ${j.id}.`); refresh(); } catch (e) { notify(e instanceof Error ? e.message : String(e), 'error'); }
            },
          }, j.state === 'queued' || j.state === 'running' ? 'cancel' : 'delete')));
      }));
      if (!jobs.length) body.append(h('tr', {}, h('td', { colspan: 8 }, h('span.muted', {}, 'No jobs yet. '), h('a', { href: '#/' }, 'Upload a capture.'))));
    } catch (e) {
      err.replaceChildren(errorBox(e));
    }
    if (!stopped) timer = setTimeout(refresh, busy ? 1000 : 5000);
  }
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}
