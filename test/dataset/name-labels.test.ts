import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureNameLabeller, nameLabelValue } from '../../src/dataset/name-labels.ts';
import { parseLabelFrom, labelFlow, type Labeller } from '../../src/dataset/labels.ts';
import { col, type CellValue, type ColumnDef } from '../../src/flow/columns.ts';
import { loadCatalog } from '../../src/names/index.ts';

const cat = loadCatalog([]);
const columns: ColumnDef[] = [
  col('id_src_addr', 'identity', 'string', '', 'none', ''), col('id_dst_addr', 'identity', 'string', '', 'none', ''),
  col('id_src_port', 'identity', 'int', '', 'none', ''), col('id_dst_port', 'identity', 'int', '', 'none', ''),
  col('id_protocol', 'identity', 'int', '', 'none', ''), col('id_end_reason', 'identity', 'string', '', 'none', ''),
  col('tls_protocol', 'metadata', 'string', '', 'none', ''), col('tls_sni', 'metadata', 'string', '', 'none', ''),
];
const row = (sport: number, dport: number, proto: number, sni: string, end = 'fin', hs = sni ? 'tls' : ''): CellValue[] =>
  ['10.0.0.1', '10.0.0.2', sport, dport, proto, end, hs, sni];

test('a names label is the catalogued service and its category; a weak port guess is no label', () => {
  const l = new CaptureNameLabeller(cat, columns);
  const n = l.label(row(50000, 443, 6, 'www.netflix.com'))!;
  assert.equal(n.app, 'Netflix');
  assert.equal(n.category, 'streaming');
  assert.equal(n.source, 'sni');
  assert.equal(nameLabelValue(n, 'category'), 'streaming');
  // tcp/443 without a name: "browsing" would be a guess about the category, not a name.
  assert.equal(l.label(row(50001, 443, 6, '')), null);
  // An uncatalogued web name labels a category (browsing) but no application.
  const web = l.label(row(50002, 443, 6, 'shop.example.org'))!;
  assert.equal(web.category, 'browsing');
  assert.equal(nameLabelValue(web, 'app'), '');
  // A strong port convention (DNS) names both.
  assert.equal(l.label(row(40000, 53, 17, ''))!.category, 'network_services');
});

test('a connection cut by a timeout hands its name to its next part, which shows none', () => {
  const l = new CaptureNameLabeller(cat, columns);
  assert.equal(l.label(row(50000, 443, 6, 'us04web.zoom.us', 'active'))!.app, 'Zoom');
  const next = l.label(row(50000, 443, 6, '', 'idle'))!;
  assert.equal(next.app, 'Zoom');
  assert.equal(next.source, 'flow', 'the label says it came from the earlier part');
  const third = l.label(row(50000, 443, 6, '', 'fin'))!;
  assert.equal(third.app, 'Zoom', 'and on through every cut part');
  // The connection ended: a new flow on the same 5-tuple is a new connection.
  assert.equal(l.label(row(50000, 443, 6, '')), null);
  // The server speaks first after an idle cut: the next part's source is the server, and it still inherits.
  const r = new CaptureNameLabeller(cat, columns);
  r.label(row(50000, 443, 6, 'us04web.zoom.us', 'idle'));
  const reversed: CellValue[] = ['10.0.0.2', '10.0.0.1', 443, 50000, 6, 'fin', '', ''];
  assert.equal(r.label(reversed)?.app, 'Zoom');
  // Another 5-tuple does not inherit.
  const m = new CaptureNameLabeller(cat, columns);
  m.label(row(50000, 443, 6, 'us04web.zoom.us', 'active'));
  assert.equal(m.label(row(50009, 443, 6, '')), null);
});

test('--label-from names labels by the names; rules and labels CSV still win', () => {
  assert.equal(parseLabelFrom('names'), 'names:app');
  assert.equal(parseLabelFrom('names:category'), 'names:category');
  assert.equal(parseLabelFrom('names:nope'), null);
  const at = (n: string): number => columns.findIndex((c) => c.name === n);
  const r = row(50000, 443, 6, 'www.netflix.com');
  const names = new CaptureNameLabeller(cat, columns).label(r);
  const l: Labeller = { rules: [], entries: [], from: 'names:category', ruleColumns: [] };
  assert.deepEqual(labelFlow(l, 'caps/x/a.pcap', r, at, names), { label: 'streaming', source: 'names:sni' });
  // Nothing named: no label (never the folder's name).
  assert.deepEqual(labelFlow(l, 'caps/x/a.pcap', r, at, null), { label: '', source: '' });
  const withRule: Labeller = { ...l, rules: [{ label: 'mine', sni: /netflix/ }] };
  assert.equal(labelFlow(withRule, 'caps/x/a.pcap', r, at, names).label, 'mine');
});
