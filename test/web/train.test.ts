import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO, startTestServer, tempDir, until, waitFinal } from '../service/helpers.ts';

/**
 * The Train page in a real browser (Debian's chromium through playwright-core) against a real server with no model
 * loaded: train on the committed captures of test/fixtures/learn (their flows labelled by the names they show),
 * read the report, activate the version, and upload a capture whose names are hidden: its flows get the new model's
 * answers. A training whose captures label no flow shows its error. Screenshots go to test-artifacts/.
 */
// The page functions below run in the browser; the project compiles without the DOM library.
declare const document: any;
type HTMLElement = any;

const ARTIFACTS = path.join(REPO, 'test-artifacts');
const FIXTURES = path.join(REPO, 'test/fixtures/learn');
const HOME = [0, 1, 2, 3].map((i) => path.join(FIXTURES, `home-${i}.pcap.gz`));
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

interface Metrics { accuracy: number; macroF1: number; balancedAccuracy: number }
interface Training { name: string; version: number; classes: string[]; rows: number; learner: string; split: string; metrics: Metrics | null; activated: boolean }
interface VersionList { name: string; active: number | null; versions: { version: number; state: string; metrics: Metrics | null; data: { rows: number; classes: string[] } }[] }

let srv: Awaited<ReturnType<typeof startTestServer>>;
let tmp: ReturnType<typeof tempDir>;
let browser: Browser;
let page: Page;

const api = async <T = any>(p: string): Promise<T> => {
  const res = await fetch(`${srv.url}/api/v1${p}`);
  assert.equal(res.status, 200, `GET ${p}: ${res.status}`);
  return (await res.json()) as T;
};

before(async () => {
  tmp = tempDir('veil-ui-train-');
  mkdirSync(ARTIFACTS, { recursive: true });
  srv = await startTestServer(path.join(tmp.dir, 'data'));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await ctx.newPage();
  page.on('pageerror', (e) => { throw e; });
});

after(async () => {
  await browser?.close();
  await srv?.close();
  tmp?.cleanup();
});

/** The job id the page follows (`#/train/ID` or `#/jobs/ID`). */
const jobIdOf = (url: string): string => /#\/(?:train|jobs)\/(j[0-9a-z]+)$/.exec(url)![1]!;

/** Fills the Train form by its labels and submits it. */
async function train(files: string[], name: string, label: string, folds: number, split = 'group'): Promise<string> {
  await page.goto(`${srv.url}/#/train`);
  await page.getByLabel('Captures or a flow table').setInputFiles(files);
  await page.getByLabel('Model name').fill(name);
  await page.getByLabel('Label source').selectOption(label);
  await page.getByLabel('Learner').selectOption('auto');
  await page.getByLabel('Split').selectOption(split);
  await page.getByLabel('Folds').fill(String(folds));
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await page.waitForURL(/#\/train\/j[0-9a-z]+$/);
  return jobIdOf(page.url());
}

/** The values the results table shows in a column, by the column's name (a cell's title holds its whole value). */
async function columnValues(col: string): Promise<string[]> {
  return page.$$eval('#results-table thead th', (ths, name) => {
    const i = ths.findIndex((th) => (th as HTMLElement).dataset.col === name);
    if (i < 0) return [];
    return [...document.querySelectorAll('#results-table tbody tr')].map((tr: HTMLElement) => (tr.children[i] as HTMLElement).title);
  }, col);
}

test('the Train page trains on the committed captures, shows the report, activates the model, and a new upload gets its answers', async () => {
  const id = await train(HOME, 'apps', 'names:app', 2);
  await page.waitForSelector('#train-report', { timeout: 180_000 });
  const job = await api(`/jobs/${id}`);
  assert.equal(job.state, 'done');
  assert.equal(job.type, 'train');
  const t = job.summary.training as Training;
  assert.equal(t.name, 'apps');
  assert.deepEqual([...t.classes].sort(), ['Netflix', 'Zoom'], 'the names label the flows with the catalogue\'s applications');
  assert.equal(t.activated, false);
  assert.ok(t.metrics, 'four captures: a grouped evaluation');

  // The report shows the figures of the job record.
  const fact = async (k: string) => page.textContent(`#train-facts .fact[data-fact="${k}"] .v`);
  assert.equal(await fact('Version'), String(t.version));
  assert.equal(await fact('Accuracy'), pct(t.metrics!.accuracy));
  assert.equal(await fact('Macro-F1'), pct(t.metrics!.macroF1));
  assert.equal(await fact('Rows'), t.rows.toLocaleString('en'));
  assert.equal(await fact('Classes'), String(t.classes.length));
  assert.deepEqual(await page.$$eval('#train-classes .chip', (els) => els.map((e) => (e as HTMLElement).textContent)), t.classes);
  // The per-class table is the version's grouped evaluation.
  const evaluation = await api<{ perClass: { label: string; f1: number; support: number }[] }>(`/models/apps/versions/${t.version}/report.json`);
  const perClass = page.getByRole('table', { name: 'Scores per class' });
  const rows = await perClass.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => (td as HTMLElement).textContent)));
  assert.deepEqual(rows.map((r) => [r[0], r[3], r[4]]), evaluation.perClass.map((p) => [p.label, pct(p.f1), String(p.support)]));
  // The charts are the version's SVG routes, and the report links work.
  await page.waitForFunction(() => document.querySelectorAll('#train-charts figure img').length === 3, undefined, { timeout: 30_000 });
  assert.deepEqual(await page.$$eval('#train-charts figure', (fs) => fs.map((f) => (f as HTMLElement).dataset.chart)), ['f1', 'confusion', 'importance']);
  for (const [link, type] of [['HTML report', /text\/html/], ['JSON', /application\/json/]] as const) {
    const href = await page.getByRole('link', { name: link, exact: true }).getAttribute('href');
    assert.equal(href?.startsWith(`/api/v1/models/apps/versions/${t.version}/report`), true, String(href));
    const res = await fetch(`${srv.url}${href}`);
    assert.equal(res.status, 200, href!);
    assert.match(res.headers.get('content-type') ?? '', type);
  }
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-train-report.png'), fullPage: true });

  // Activate: the version becomes the model loaded under its name and a default.
  await page.getByRole('button', { name: 'Activate' }).click();
  await page.getByRole('status').filter({ hasText: 'is active' }).waitFor();
  const versions = await api<VersionList>('/models/apps/versions');
  assert.equal(versions.active, t.version);
  const loaded = (await api<{ models: { name: string; isDefault: boolean }[] }>('/models')).models.find((m) => m.name === 'apps');
  assert.ok(loaded?.isDefault, 'the active version is a default model');

  // The models page lists the version, marked active, with its figures.
  await page.getByRole('link', { name: 'see its versions' }).click();
  const table = page.getByRole('table', { name: 'Versions of apps' });
  const active = table.locator(`tbody tr[data-version="${t.version}"][data-state="active"]`);
  await active.waitFor();
  const cells = await active.locator('td').allTextContents();
  assert.match(cells[0]!, /active/);
  assert.equal(cells[3], t.rows.toLocaleString('en'));
  assert.match(cells[4]!, new RegExp(`^${t.classes.length}: `));
  assert.equal(cells[5], pct(t.metrics!.macroF1));
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-models-versions.png'), fullPage: true });

  // A new upload of a capture whose names are hidden: the upload page ticks the active model, its flows get its answers.
  await page.goto(`${srv.url}/#/`);
  await page.waitForSelector('fieldset.models input[value="apps"]:checked');
  await page.setInputFiles('#file-input', path.join(FIXTURES, 'hidden.pcap.gz'));
  await page.click('#upload-button');
  await page.waitForURL(/#\/jobs\/j[0-9a-z]+$/);
  const upload = jobIdOf(page.url());
  await page.waitForSelector('#results-table tbody tr td', { timeout: 60_000 });
  const classified = await api(`/jobs/${upload}`);
  assert.deepEqual(classified.models, ['apps']);
  const res = await api<{ columns: { name: string }[]; rows: unknown[][] }>(`/jobs/${upload}/results?limit=100`);
  const at = (n: string) => { const i = res.columns.findIndex((c) => c.name === n); assert.ok(i >= 0, `${n} in ${res.columns.map((c) => c.name)}`); return i; };
  const byPort = new Map(res.rows.map((r) => [Number(r[at('id_src_port')]), { answer: String(r[at('apps.label')]), app: r[at('app')], source: r[at('app_source')] }]));
  // hidden.pcap: two streaming-like connections (ports 40000, 40001), then two call-like ones (40002, 40003).
  assert.deepEqual([...byPort.keys()].sort(), [40000, 40001, 40002, 40003]);
  assert.deepEqual([0, 1, 2, 3].map((k) => byPort.get(40000 + k)!.answer), ['Netflix', 'Netflix', 'Zoom', 'Zoom'], 'recognised by behaviour with no name in view');
  for (const v of byPort.values()) assert.deepEqual([v.app, v.source], [v.answer, 'model'], 'the model names the flow in the verdict');
  // The page shows the same answers as the API.
  await until('the model column on the page', async () => ((await columnValues('apps.label')).length === 4 ? true : undefined), 20_000);
  const ports = (await columnValues('id_src_port')).map(Number);
  const shown = await columnValues('apps.label');
  assert.deepEqual(ports.map((p, i) => [p, shown[i]]).sort(), [...byPort].map(([p, v]) => [p, v.answer]).sort());
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-train-answers.png'), fullPage: true });
});

test('a training whose captures label no flow shows NO_LABELS with its message on the page', async () => {
  // One capture: a grouped split needs two, so the shuffled one (the capture's flows are what fail to label).
  const id = await train([path.join(FIXTURES, 'nameless.pcap.gz')], 'nothing', 'names:app', 2, 'kfold');
  await page.waitForSelector('#train-error .error', { timeout: 120_000 });
  const job = await api(`/jobs/${id}`);
  assert.equal(job.state, 'failed');
  assert.equal(job.error.code, 'NO_LABELS');
  const shown = (await page.getByRole('alert').textContent()) ?? '';
  assert.equal(shown, `NO_LABELS: ${job.error.message}`);
  assert.match((await page.textContent('#train-advice')) ?? '', /label by file name/);
  const reg = await api<{ models: { name: string }[] }>('/registry');
  assert.ok(!reg.models.some((m) => m.name === 'nothing'), 'no version is made');
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-train-failed.png'), fullPage: true });
});

test('the models page activates another version and retires one, marking the active version', async () => {
  // A second version of `apps` (the first test made version 1 and activated it), trained through the API.
  const fd = new FormData();
  for (const f of HOME) fd.append('file', new Blob([readFileSync(f)]), path.basename(f));
  fd.append('name', 'apps');
  fd.append('folds', '2');
  const res = await fetch(`${srv.url}/api/v1/models/train`, { method: 'POST', body: fd });
  assert.equal(res.status, 202);
  const done = await waitFinal(srv.url, ((await res.json()) as { id: string }).id, 180_000);
  assert.equal(done.state, 'done', JSON.stringify(done.error));
  const v2 = (done.summary.training as Training).version;
  const before = await api<VersionList>('/models/apps/versions');
  const v1 = before.active!;
  assert.notEqual(v2, v1);

  await page.goto(`${srv.url}/#/models`);
  const table = page.getByRole('table', { name: 'Versions of apps' });
  await table.locator(`tbody tr[data-version="${v1}"][data-state="active"]`).waitFor();
  assert.equal(await table.locator('tbody tr').count(), before.versions.length);
  await page.getByRole('button', { name: `Activate apps version ${v2}` }).click();
  await table.locator(`tbody tr[data-version="${v2}"][data-state="active"]`).waitFor();
  await table.locator(`tbody tr[data-version="${v1}"][data-state="inactive"]`).waitFor();
  assert.equal((await api<VersionList>('/models/apps/versions')).active, v2);

  page.once('dialog', (d) => { void d.accept(); });
  await page.getByRole('button', { name: `Retire apps version ${v1}` }).click();
  await table.locator(`tbody tr[data-version="${v1}"][data-state="retired"]`).waitFor();
  assert.equal(await page.getByRole('button', { name: `Activate apps version ${v1}` }).count(), 0, 'a retired version cannot be activated');
  const after = await api<VersionList>('/models/apps/versions');
  assert.equal(after.active, v2);
  assert.equal(after.versions.find((v) => v.version === v1)?.state, 'retired');
});
