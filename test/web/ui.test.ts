import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { makeCapture, parseCsvText, REPO, SERVICE_OF, startTestServer, tempDir, trainTinyModel } from '../service/helpers.ts';

/**
 * The web UI in a real browser (Debian's chromium through playwright-core), against a real server: upload a
 * capture by drag and drop, wait for the result, sort and filter the table, download the CSV and check its rows.
 * Screenshots go to test-artifacts/.
 */
// The page functions below run in the browser; the project compiles without the DOM library, so its few names
// are declared loosely here.
declare const document: any;
declare const DataTransfer: any;
declare const DragEvent: any;
declare const getComputedStyle: any;
type HTMLElement = any;

const ARTIFACTS = path.join(REPO, 'test-artifacts');
const FLOWS = 24;

let srv: Awaited<ReturnType<typeof startTestServer>>;
let tmp: ReturnType<typeof tempDir>;
let browser: Browser;
let page: Page;

before(async () => {
  tmp = tempDir('veil-ui-');
  mkdirSync(ARTIFACTS, { recursive: true });
  const models = path.join(tmp.dir, 'models');
  mkdirSync(models);
  await trainTinyModel(models, 'application', 'application');
  await trainTinyModel(models, 'vpn', 'vpn');
  srv = await startTestServer(path.join(tmp.dir, 'data'), { modelDirs: [models] });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
  page = await ctx.newPage();
  page.on('pageerror', (e) => { throw e; });
});

after(async () => {
  await browser?.close();
  await srv?.close();
  tmp?.cleanup();
});

async function columnValues(col: string): Promise<string[]> {
  return page.$$eval('#results-table thead th', (ths, name) => {
    const i = ths.findIndex((th) => (th as HTMLElement).dataset.col === name);
    return [...document.querySelectorAll('#results-table tbody tr')].map((tr) => (tr.children[i] as HTMLElement).title);
  }, col);
}

test('upload by drag and drop, watch the job finish, sort, filter and download the results', async () => {
  await page.goto(srv.url);
  await page.waitForSelector('#drop-zone');
  await page.waitForSelector('fieldset.models input[value="application"]');
  const capture = makeCapture(FLOWS).toString('base64');
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'demo.pcap', { type: 'application/vnd.tcpdump.pcap' }));
    const zone = document.getElementById('drop-zone')!;
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, capture);
  await page.waitForFunction(() => document.getElementById('file-info')?.textContent?.includes('demo.pcap'));
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-upload.png') });
  await page.click('#upload-button');

  await page.waitForURL(/#\/jobs\/j[0-9a-z]+$/);
  await page.waitForSelector('#results-table tbody tr td');
  await page.waitForFunction(() => document.querySelectorAll('#charts figure img').length >= 2);
  const info = await page.textContent('#results-info');
  assert.match(info ?? '', new RegExp(`of ${FLOWS}`));
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-results.png'), fullPage: true });

  // Sort by source port, descending (two clicks: ascending, then descending).
  await page.click('th[data-col="id_src_port"]');
  await page.waitForSelector('th[data-col="id_src_port"][aria-sort="ascending"]');
  await page.click('th[data-col="id_src_port"]');
  await page.waitForSelector('th[data-col="id_src_port"][aria-sort="descending"]');
  await page.waitForFunction(() => {
    const ths = [...document.querySelectorAll('#results-table thead th')];
    const i = ths.findIndex((th) => (th as HTMLElement).dataset.col === 'id_src_port');
    const first = document.querySelector('#results-table tbody tr')?.children[i] as HTMLElement | undefined;
    return first?.title === String(40000 + 23);
  });
  const ports = (await columnValues('id_src_port')).map(Number);
  assert.equal(ports.length, FLOWS);
  assert.deepEqual(ports, [...ports].sort((a, b) => b - a));

  // Sort by predicted application, then filter to video flows.
  await page.click('th[data-col="application.label"]');
  await page.waitForSelector('th[data-col="application.label"][aria-sort="ascending"]');
  const apps = await columnValues('application.label');
  assert.deepEqual(apps, [...apps].sort());
  await page.fill('#results-filter', 'video.example');
  await page.waitForFunction(() => /of 8 \(filtered/.test(document.getElementById('results-info')?.textContent ?? ''));
  assert.deepEqual(new Set(await columnValues('application.label')), new Set(['video']));
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-results-filtered.png'), fullPage: true });
  await page.fill('#results-filter', '');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
  const file = path.join(tmp.dir, 'download.csv');
  await download.saveAs(file);
  const rows = parseCsvText(readFileSync(file, 'utf8'));
  const header = rows[0]!;
  assert.equal(rows.length, FLOWS + 1);
  const sni = header.indexOf('tls_sni'), app = header.indexOf('application.label'), vpn = header.indexOf('vpn.label');
  assert.ok(sni >= 0 && app >= 0 && vpn >= 0, header.join(','));
  for (const r of rows.slice(1)) assert.equal(r[app], SERVICE_OF[r[sni]!]);
});

test('the jobs list shows live state and the models page shows metrics and feature importance', async () => {
  await page.goto(`${srv.url}/#/jobs`);
  await page.waitForSelector('#jobs-table tbody tr[data-state="done"]');
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-jobs.png') });
  await page.goto(`${srv.url}/#/models`);
  await page.waitForSelector('.card.model[data-model="application"] a.model-link');
  await page.click('.card.model[data-model="application"] a.model-link');
  await page.waitForSelector('figure[data-chart="importance"] img');
  const text = await page.textContent('main');
  assert.match(text ?? '', /macro F1/);
  assert.match(text ?? '', /chat.*video.*web/s);
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-model.png'), fullPage: true });
});

test('the verdict: an application column named from the server names, and traffic charts by application and category', async () => {
  // Two of the three server names are in the service catalogue; the third is an uncatalogued web name.
  const data = makeCapture(9, 6, ['www.netflix.com', 'zoom.us', 'www.example.com']);
  const fd = new FormData();
  fd.append('file', new Blob([data]), 'named.pcap');
  const up = await fetch(`${srv.url}/api/v1/jobs`, { method: 'POST', body: fd });
  assert.equal(up.status, 202);
  const id = ((await up.json()) as { id: string }).id;
  await page.goto(`${srv.url}/#/jobs/${id}`);
  await page.waitForSelector('#results-table tbody tr td');
  await page.waitForFunction(() => document.querySelectorAll('#traffic-charts figure img').length === 4);
  const alts = await page.$$eval('#traffic-charts figure img', (imgs) => imgs.map((i) => (i as HTMLElement).getAttribute('alt') ?? ''));
  assert.ok(alts.includes('traffic by application, flows') && alts.includes('traffic by category, bytes'), alts.join('; '));
  // Charts fill their panel, and are never drawn smaller than they were laid out (their labels stay readable).
  const sizes = await page.$$eval('#traffic-charts figure img', (imgs) => imgs.map((i) => {
    const img = i as HTMLElement & { naturalWidth: number; clientWidth: number; parentElement: { clientWidth: number } };
    return [img.clientWidth, img.naturalWidth, img.parentElement.clientWidth];
  }));
  for (const [shown, natural, panel] of sizes) {
    assert.ok(shown! >= panel! - 24, `fills its panel: ${sizes.join(' | ')}`);
    assert.ok(shown! >= 0.95 * natural!, `not shrunk: ${sizes.join(' | ')}`);
  }
  // The by-application chart is a real SVG naming the applications.
  const svg = await (await fetch(`${srv.url}/api/v1/jobs/${id}/charts/apps.svg`)).text();
  assert.match(svg, /<svg/);
  assert.match(svg, /Netflix/);
  assert.match(svg, /Zoom/);
  const heads = await page.$$eval('#results-table thead th', (ths) => ths.map((th) => (th as HTMLElement).dataset.col));
  assert.ok(heads.indexOf('app') >= 0 && heads.indexOf('app') < heads.indexOf('application.label'), `the verdict comes before the models' own answers: ${heads.join(',')}`);
  const apps = await columnValues('app');
  const sources = await columnValues('app_source');
  const cats = await columnValues('category');
  assert.equal(apps.length, 9);
  assert.deepEqual(new Set(apps), new Set(['Netflix', 'Zoom', '']));
  assert.ok(sources.every((s, i) => (apps[i] ? s === 'sni' : s === 'none')), sources.join(','));
  assert.deepEqual(new Set(cats), new Set(['streaming', 'voip', 'browsing']));
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-verdict.png'), fullPage: true });
});

test('a flow opens into its detail: every column, the handshake, the answers with their sources', async () => {
  const data = makeCapture(9, 6, ['www.netflix.com', 'zoom.us', 'www.example.com']);
  const fd = new FormData();
  fd.append('models', '');
  fd.append('file', new Blob([data]), 'detail.pcap');
  const id = ((await (await fetch(`${srv.url}/api/v1/jobs`, { method: 'POST', body: fd })).json()) as { id: string }).id;
  await page.goto(`${srv.url}/#/jobs/${id}`);
  await page.waitForSelector('#results-table tbody tr td');
  // What an analyst reads first: time with its zone, the endpoints, the protocol by name; confidence drawn.
  const heads = await page.$$eval('#results-table thead th', (ths) => ths.map((th) => (th as HTMLElement).dataset.col));
  assert.deepEqual(heads.slice(0, 6), ['id_first_ts', 'id_src_addr', 'id_src_port', 'id_dst_addr', 'id_dst_port', 'id_protocol']);
  const first = await page.$$eval('#results-table tbody tr:first-child td', (tds) => tds.map((td) => (td as HTMLElement).textContent));
  assert.match(first[0] ?? '', /^2023-11-14 \d\d:\d\d:\d\d\.\d{3} UTC$/);
  assert.equal(first[5], 'TCP');
  const bars = await page.$$eval('#results-table td.k-confidence .conf', (els) => els.map((e) => [(e as HTMLElement).className, (e.querySelector('.fill') as HTMLElement).style.width]));
  assert.ok(bars.some(([c, w]) => /high/.test(c!) && w === '95%'), JSON.stringify(bars));
  assert.ok(bars.some(([c, w]) => /mid/.test(c!) && w === '50%'), JSON.stringify(bars));

  const api = (await (await fetch(`${srv.url}/api/v1/jobs/${id}/results?limit=1`)).json()) as { columns: { name: string }[]; rows: unknown[][] };
  // JA4 and SNI whole on hover, however narrow their cells.
  const ja4 = api.rows[0]![api.columns.findIndex((c) => c.name === 'tls_ja4')] as string;
  assert.match(ja4, /^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
  assert.equal((await columnValues('tls_ja4'))[0], ja4);
  assert.equal((await columnValues('tls_sni'))[0], api.rows[0]![api.columns.findIndex((c) => c.name === 'tls_sni')]);
  assert.equal(await page.$eval('#results-table td.k-fingerprint', (td) => getComputedStyle(td).textOverflow), 'ellipsis');
  await page.click('#results-table tbody tr:first-child');
  await page.waitForSelector('dialog#flow-detail[open]');
  const cols = await page.$$eval('#flow-detail dd', (dds) => dds.map((d) => (d as HTMLElement).dataset.col));
  assert.deepEqual([...cols].sort(), api.columns.map((c) => c.name).sort(), 'every column once');
  const sni = api.rows[0]![api.columns.findIndex((c) => c.name === 'tls_sni')];
  assert.equal(await page.textContent('#flow-detail section[data-block="Handshake"] dd[data-col="tls_sni"]'), `${sni} filter`);
  assert.ok(await page.$('#flow-detail section[data-block="Handshake"] dd[data-col="tls_ja4"]'));
  const answer = '#flow-detail section[data-block^="Answer"]';
  assert.match((await page.textContent(`${answer} dd[data-col="app"]`)) ?? '', /Netflix/);
  assert.match((await page.textContent(`${answer} dd[data-col="app_source"]`)) ?? '', /^sni/);
  assert.match((await page.textContent(`${answer} dd[data-col="category_source"]`)) ?? '', /^sni/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-flow-detail.png'), fullPage: true });
  await page.click('#close-detail');
  await page.waitForSelector('dialog#flow-detail:not([open])', { state: 'attached' });
});

test('group the flows by service, SNI, host and category, and filter by a group', async () => {
  // The page of the previous test: its job of 9 flows, 3 per name.
  await page.selectOption('#group-by', 'app');
  await page.waitForSelector('#group-table[data-by="app"] tbody tr');
  const groups = await page.$$eval('#group-table tbody tr', (trs) => trs.map((tr) => [(tr as HTMLElement).dataset.value, tr.children[1]!.textContent]));
  assert.deepEqual(groups.sort(), [['', '3'], ['Netflix', '3'], ['Zoom', '3']]);
  await page.click('#group-table tbody tr[data-value="Zoom"]');
  await page.waitForFunction(() => /of 3 \(filtered from 9\)/.test(document.getElementById('results-info')?.textContent ?? ''));
  assert.deepEqual(new Set(await columnValues('app')), new Set(['Zoom']));
  assert.match((await page.textContent('#active-filters')) ?? '', /service = Zoom/);
  // The groups follow the filter: by server host, only Zoom's flows.
  await page.selectOption('#group-by', 'id_dst_addr');
  await page.waitForSelector('#group-table[data-by="id_dst_addr"] tbody tr');
  const hosts = await page.$$eval('#group-table tbody tr', (trs) => trs.map((tr) => Number(tr.children[1]!.textContent)));
  assert.equal(hosts.reduce((a, b) => a + b, 0), 3);
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-grouped.png'), fullPage: true });
  await page.click('#active-filters button');
  await page.waitForFunction(() => /of 9$/.test(document.getElementById('results-info')?.textContent ?? ''));
  for (const by of ['tls_sni', 'category']) {
    await page.selectOption('#group-by', by);
    await page.waitForSelector(`#group-table[data-by="${by}"] tbody tr`);
    assert.equal((await page.$$('#group-table tbody tr')).length, 3, by);
  }
});

test('a failed job shows its error (and the flows it kept, when the server kept any)', async () => {
  const cap = makeCapture(6);
  const fd = new FormData();
  fd.append('file', new Blob([gzipSync(cap.subarray(0, cap.length - 37))]), 'cut.pcap.gz');
  const id = ((await (await fetch(`${srv.url}/api/v1/jobs`, { method: 'POST', body: fd })).json()) as { id: string }).id;
  await page.goto(`${srv.url}/#/jobs/${id}`);
  await page.waitForSelector('[data-state="failed"]');
  await page.waitForSelector('#job-error .error');
  assert.match((await page.textContent('#job-error')) ?? '', /BAD_CAPTURE: .*cut\.pcap\.gz/);
  await page.waitForSelector('#partial-note, #no-flows');
  const kept = (await (await fetch(`${srv.url}/api/v1/jobs/${id}/results?limit=1`)).json()) as { total?: number };
  if (kept.total) {
    assert.match((await page.textContent('#partial-note')) ?? '', new RegExp(`the ${kept.total} flows`));
    await page.waitForSelector('#results-table tbody tr td');
  } else {
    assert.ok(await page.$('#no-flows'));
  }
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-failed.png'), fullPage: true });
});

test('unticking every model in the upload form runs no model, not the defaults', async () => {
  await page.goto(srv.url);
  await page.waitForSelector('fieldset.models input[value="application"]:checked');
  for (const box of await page.$$('fieldset.models input[type=checkbox]:checked')) await box.uncheck();
  await page.waitForSelector('#no-model-note:not([hidden])');
  await page.setInputFiles('#file-input', { name: 'none.pcap', mimeType: 'application/vnd.tcpdump.pcap', buffer: makeCapture(3) });
  await page.click('#upload-button');
  await page.waitForURL(/#\/jobs\/j[0-9a-z]+$/);
  const id = /#\/jobs\/(j[0-9a-z]+)$/.exec(page.url())![1]!;
  const job = (await (await fetch(`${srv.url}/api/v1/jobs/${id}`)).json()) as { models: string[] };
  assert.deepEqual(job.models, []);
  await page.waitForSelector('#results-table tbody tr td');
  assert.match((await page.textContent('.job-head')) ?? '', /no model/);
});

test('the models page chooses the defaults, deletes a model, and an uploaded model is not a default unless ticked', async () => {
  const models = async () => ((await (await fetch(`${srv.url}/api/v1/models`)).json()) as { models: { name: string; isDefault: boolean }[] }).models;
  await page.goto(`${srv.url}/#/models`);
  await page.waitForSelector('.card.model[data-model="vpn"][data-default="true"]');
  await page.uncheck('.card.model[data-model="vpn"] .default-toggle input');
  await page.waitForSelector('.card.model[data-model="vpn"][data-default="false"]');
  assert.equal((await models()).find((m) => m.name === 'vpn')?.isDefault, false);

  page.once('dialog', (d) => { void d.accept(); });
  await page.click('.card.model[data-model="vpn"] button.danger');
  await page.waitForSelector('.card.model[data-model="vpn"]', { state: 'detached' });
  assert.deepEqual((await models()).map((m) => m.name), ['application']);

  await page.setInputFiles('#model-file', path.join(tmp.dir, 'models', 'vpn.veilmodel'));
  await page.click('#model-upload button[type=submit]');
  await page.waitForURL(/#\/models\/vpn$/);
  assert.equal((await models()).find((m) => m.name === 'vpn')?.isDefault, false, 'not made a default silently');
  await page.goto(`${srv.url}/#/models`);
  await page.waitForSelector('.card.model[data-model="vpn"][data-default="false"]');
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-models.png'), fullPage: true });
});
