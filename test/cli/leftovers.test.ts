import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fit, tableRow } from '../../src/cli/classify.ts';

const VEIL = fileURLToPath(new URL('../../bin/veil.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../models/vpn.veilmodel', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'veil-left-'));

test('a fatal error leaves no output file and no empty summary behind (classify, extract, predict)', () => {
  const missing = path.join(tmp, 'no-such.pcap');
  const runs: [string, string[]][] = [
    ['classify', ['classify', missing]], ['extract', ['extract', missing]], ['predict', ['predict', MODEL, missing]],
    ['classify-dir', ['classify', tmp]],
  ];
  for (const [name, args] of runs) {
    const out = path.join(tmp, `${name}.csv`);
    const r = spawnSync(process.execPath, [VEIL, ...args, '-o', out], { encoding: 'utf8' });
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /veil: /, `${name} says why`);
    assert.equal(existsSync(out), false, `${name}: no output file after the failure`);
    assert.doesNotMatch(r.stderr, /0 flows|predicted 0 flows/, `${name}: no summary of nothing`);
  }
});

test('the classify table shows the negotiated ALPN only and marks a cut name with an ellipsis', () => {
  const names = ['id_flow', 'id_src_addr', 'id_src_port', 'id_dst_addr', 'id_dst_port', 'id_protocol', 'tls_sni', 'tls_alpn', 'tls_alpn_offered',
    'tls_ja4', 'app', 'app_source', 'category', 'category_source', 'category_confidence'];
  const o = [7, '10.0.0.1', 50000, '10.0.0.2', 443, 6, 'a-very-long-server-name.example-cdn.com', '', 'h2,http/1.1',
    't13d1516h2_8daaf6152771_e5627efa2ab1', 'Example', 'sni', 'browsing', 'sni', 0.9];
  const at = Object.assign(Object.fromEntries(names.map((n, i) => [n, i])), { models: [] as number[] });
  const line = tableRow(o, at);
  assert.match(line, /a-very-long-server-name.exa\u2026 /, 'cut at 28 characters with an ellipsis');
  assert.doesNotMatch(line, / h2 /, 'no ALPN was negotiated: the first offered one is not shown as if it were');
  o[7] = 'h2';
  assert.match(tableRow(o, at), / h2 {8}t13d/);
  assert.equal(fit('short', 8), 'short   ');
});

test('veil --version prints the package version', () => {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = spawnSync(process.execPath, [VEIL, flag], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.split(' ')[0] + ' ' + r.stdout.split(' ')[1], `veil ${pkg.version}`);
  }
});
