// @ts-check
import { get, upload } from '../api.js';
import { h, fmtBytes, progressBar, errorBox } from '../ui.js';

/**
 * Upload page: drop zone or file picker, models to apply, optional label column, XHR progress bar.
 * @param {HTMLElement} root
 */
export async function uploadView(root) {
  /** @type {File | null} */
  let file = null;
  const info = h('p.muted', { id: 'file-info' }, 'No file chosen.');
  const input = /** @type {HTMLInputElement} */ (h('input', { type: 'file', id: 'file-input', hidden: true, onchange: () => choose(input.files?.[0]) }));
  const zone = h('div.drop', { id: 'drop-zone', tabindex: 0, role: 'button', 'aria-label': 'Choose or drop a file' },
    h('strong', {}, 'Drop a capture or flow table here'),
    h('span.muted', {}, 'pcap, pcapng, CSV, JSONL, Parquet, ARFF (gzip allowed) — or click to choose'),
    input);
  zone.addEventListener('click', () => input.click());
  zone.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') input.click(); });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer?.files?.length) choose(e.dataTransfer.files[0]);
  });

  const modelsBox = h('fieldset.models', {}, h('legend', {}, 'Models'), h('span.muted', {}, 'loading…'));
  const none = h('span.muted', { id: 'no-model-note', hidden: true }, 'No model ticked: the job meters flows and names them, without any model.');
  const noteNone = () => { none.hidden = modelsBox.querySelector('input[type=checkbox]:checked') !== null; };
  const label = /** @type {HTMLInputElement} */ (h('input', { id: 'label-input', placeholder: 'e.g. label (flow tables only)', size: 24 }));
  const partial = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'partial-input' }));
  const status = h('div.status', { id: 'upload-status' });
  const send = /** @type {HTMLButtonElement} */ (h('button.primary', { id: 'upload-button', type: 'submit', disabled: true }, 'Upload and classify'));

  /** @param {File | undefined} f */
  function choose(f) {
    if (!f) return;
    file = f;
    info.textContent = `${f.name} — ${fmtBytes(f.size)}`;
    send.disabled = false;
  }

  const form = h('form.card', { id: 'upload-form' },
    zone, info, modelsBox,
    h('div.row', {},
      h('label', {}, 'Label column ', label),
      h('label', {}, partial, ' keep flows before damage in a truncated capture')),
    h('div.row', {}, send), status);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!file) return;
    const fd = new FormData();
    // The ticked models, as a JSON array: [] when every box is unticked means no model (never the defaults).
    const chosen = [...modelsBox.querySelectorAll('input[type=checkbox]:checked')].map((c) => /** @type {HTMLInputElement} */ (c).value);
    const all = modelsBox.querySelectorAll('input[type=checkbox]').length;
    if (all > 0) fd.append('models', JSON.stringify(chosen));
    if (label.value.trim()) fd.append('label', label.value.trim());
    if (partial.checked) fd.append('partial', 'true');
    fd.append('file', file, file.name);
    send.disabled = true;
    status.replaceChildren(progressBar(0, 'uploading…'));
    try {
      const job = await upload('/jobs', fd, (f) => status.replaceChildren(progressBar(f, `uploading… ${Math.round(f * 100)}%`)));
      status.replaceChildren(h('p', {}, 'Uploaded. Processing…'));
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      status.replaceChildren(errorBox(err));
      send.disabled = false;
    }
  });

  root.append(h('h1', {}, 'Classify traffic'), form);

  try {
    const { models } = await get('/models');
    modelsBox.replaceChildren(h('legend', {}, 'Models'));
    if (!models.length) modelsBox.append(h('span.muted', {}, 'No model loaded: the job extracts flows only. Upload one on the Models page.'));
    for (const m of models) {
      modelsBox.append(h('label.chip', {}, h('input', { type: 'checkbox', value: m.name, checked: m.isDefault, onchange: noteNone }), ` ${m.name} `, h('span.muted', {}, `(${m.target}, ${m.classes.length} classes)`)));
    }
    modelsBox.append(none);
    noteNone();
  } catch (err) {
    modelsBox.replaceChildren(h('legend', {}, 'Models'), errorBox(err));
  }
}
