import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';
import { clientHelloBody, ext, handshake, record } from '../tls/builder.ts';
import { readRules, pattern } from '../../src/dataset/labels.ts';

const VEIL = fileURLToPath(new URL('../../bin/veil.js', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'veil-ds-'));

/** A capture with one TLS connection per SNI (ClientHello in the first data segment) and one plain UDP flow. */
function capture(file: string, snis: string[], alpn = 'h2'): void {
  const w = new PcapWriter();
  let t = 1_700_000_000_000_000;
  snis.forEach((sni, k) => {
    const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 50000 + k, dport: 443 };
    const back = { src: c.dst, dst: c.src, sport: c.dport, dport: c.sport };
    const hello = record(22, handshake(1, clientHelloBody({ ciphers: [0x1301, 0x1302], extensions: [ext.sni(sni), ext.alpn([alpn]), ext.supportedVersions([0x0304])] })));
    w.writePacket(buildPacket({ ...c, flags: 'S', seq: 100 }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...back, flags: 'SA', seq: 500, ack: 101 }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...c, flags: 'PA', seq: 101, ack: 501, payload: hello }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...back, flags: 'PA', seq: 501, payload: new Uint8Array(900) }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...c, flags: 'R', seq: 101 + hello.length }), { tsUs: (t += 1000) });
  });
  w.writePacket(buildPacket({ src: '10.0.0.1', dst: '10.0.0.9', proto: 'udp', sport: 5000, dport: 53, payload: new Uint8Array(30) }), { tsUs: (t += 1000) });
  writeFileSync(file, w.toBuffer());
}

function build(args: string[]) {
  const r = spawnSync(process.execPath, [VEIL, 'dataset', 'build', ...args], { encoding: 'utf8' });
  // JSONL output: one object per flow, so quoted commas in list-valued columns do not get in the way.
  const text = r.status === 0 ? readFileSync(args[args.indexOf('-o') + 1]!, 'utf8').trim() : '';
  const rows = text ? text.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  const header = rows[0] ? Object.keys(rows[0]) : [];
  return { r, header, rows: rows.map((x) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, String(v)]))) };
}

mkdirSync(path.join(tmp, 'caps/netflix'), { recursive: true });
mkdirSync(path.join(tmp, 'caps/zoom'), { recursive: true });
capture(path.join(tmp, 'caps/netflix/n1.pcap'), ['www.netflix.com', 'cdn.nflxvideo.net']);
capture(path.join(tmp, 'caps/zoom/zoom-2.pcap'), ['us04web.zoom.us']);

test('labels from the directory name, with the capture as the group column', () => {
  const { r, rows, header } = build([path.join(tmp, 'caps'), '-o', path.join(tmp, 'dir.jsonl'), '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(header.includes('id_capture') && header.includes('label'));
  assert.deepEqual(rows.map((x) => `${x.id_capture}:${x.label}`).sort(),
    ['n1.pcap:netflix', 'n1.pcap:netflix', 'n1.pcap:netflix', 'zoom-2.pcap:zoom', 'zoom-2.pcap:zoom']);
  assert.ok(header.includes('tls_sni'), 'without rules the metadata stays');
});

test('labels from the file name strip the trailing number', () => {
  const { rows } = build([path.join(tmp, 'caps/zoom'), '--label-from', 'name', '-o', path.join(tmp, 'name.jsonl'), '-q']);
  assert.deepEqual([...new Set(rows.map((x) => x.label))], ['zoom']);
});

test('rules on SNI label flows and drop the columns they read; unmatched flows fall back to the path', () => {
  const rules = path.join(tmp, 'rules.yaml');
  writeFileSync(rules, '- label: netflix-video\n  sni: ["*.nflxvideo.net"]\n- label: zoom-app\n  sni: "/zoom\\\\.us$/"\n');
  const { r, rows, header } = build([path.join(tmp, 'caps'), '--rules', rules, '--label-from', 'none', '-o', path.join(tmp, 'rules.jsonl'), '-q']);
  assert.equal(r.status, 0, r.stderr);
  for (const c of ['tls_sni', 'tls_cert_subject', 'tls_cert_san']) assert.ok(!header.includes(c), `${c} dropped`);
  assert.ok(header.includes('tls_ja4'), 'columns no rule read stay');
  assert.deepEqual(rows.map((x) => `${x.label}/${x.label_source}`).sort(), ['netflix-video/rule:sni', 'zoom-app/rule:sni'],
    'unlabelled flows (www.netflix.com, DNS) are dropped with --label-from none');
});

test('rules without --label-from drop the flows they miss instead of labelling them with the folder name', () => {
  const rules = path.join(tmp, 'rules-only.yaml');
  writeFileSync(rules, '- label: zoom-app\n  sni: "/zoom\\\\.us$/"\n');
  const { r, rows } = build([path.join(tmp, 'caps'), '--rules', rules, '-o', path.join(tmp, 'rules-only.jsonl')]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(rows.map((x) => x.label), ['zoom-app'], 'no class named after the folders (netflix, zoom, caps)');
  assert.match(r.stderr, /4 unlabelled flows dropped/);
  // Asked for: the folder as a fallback, or the unmatched flows kept with an empty label.
  const dir = build([path.join(tmp, 'caps'), '--rules', rules, '--label-from', 'dir', '-o', path.join(tmp, 'rules-dir.jsonl'), '-q']);
  assert.deepEqual(dir.rows.map((x) => x.label).sort(), ['netflix', 'netflix', 'netflix', 'zoom', 'zoom-app']);
  const kept = build([path.join(tmp, 'caps'), '--rules', rules, '--keep-unlabelled', '-o', path.join(tmp, 'rules-kept.jsonl'), '-q']);
  assert.deepEqual(kept.rows.map((x) => x.label).sort(), ['', '', '', '', 'zoom-app']);
});

test('a labels CSV by 5-tuple (either direction) and by time range takes precedence', () => {
  const labels = path.join(tmp, 'labels.csv');
  writeFileSync(labels, 'capture,src,sport,dst,dport,label\nn1.pcap,10.0.0.2,443,10.0.0.1,50001,video\n');
  const { rows } = build([path.join(tmp, 'caps/netflix'), '--labels', labels, '--label-from', 'none', '-o', path.join(tmp, 'l.jsonl'), '-q']);
  assert.deepEqual(rows.map((x) => [x.id_src_port, x.label, x.label_source]), [['50001', 'video', 'labels']]);
  writeFileSync(labels, 'capture,start,end,label\nn1.pcap,1600000000,1800000000,everything\n');
  const all = build([path.join(tmp, 'caps/netflix'), '--labels', labels, '-o', path.join(tmp, 'l2.jsonl'), '-q']).rows;
  assert.equal(all.length, 3);
  assert.ok(all.every((x) => x.label === 'everything'));
});

test('bad rules and labels files are refused with the file and the place', () => {
  const bad = path.join(tmp, 'bad.yaml');
  writeFileSync(bad, '- sni: "*.x.com"\n');
  assert.throws(() => readRules(bad), /bad\.yaml: rule 1 has no label/);
  writeFileSync(bad, '- label: x\n  port: 443\n');
  assert.throws(() => readRules(bad), /matches nothing/);
  const labels = path.join(tmp, 'bad.csv');
  writeFileSync(labels, 'capture,label\nx.pcap,y\n');
  const r = spawnSync(process.execPath, [VEIL, 'dataset', 'build', tmp, '--labels', labels, '-o', path.join(tmp, 'z.csv')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.csv: line 1: give src,sport,dst,dport/);
});

test('glob patterns are anchored and case-insensitive; /regex/ is a regular expression', () => {
  assert.ok(pattern('*.netflix.com', 'r').test('WWW.NETFLIX.COM'));
  assert.ok(!pattern('*.netflix.com', 'r').test('netflix.com.evil.org'));
  assert.ok(pattern('/^h[23]$/', 'r').test('h3'));
});
