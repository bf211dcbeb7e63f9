import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { extractFlows } from '../../src/flow/meter.ts';
import type { CellValue } from '../../src/flow/columns.ts';
import { DnsNameCache, addressKey, flowNamesOf, httpHost, loadCatalog, nameVerdict, parseDnsResponse } from '../../src/names/index.ts';
import { dnsCapture, dnsResponse } from './dns-capture.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/names/dns-then-tcp.pcap', import.meta.url));

test('a DNS response with a compressed CNAME chain gives the address and the alias edge', () => {
  const b = dnsResponse(300);
  const r = parseDnsResponse(b, 0, b.length)!;
  assert.equal(r.question, 'www.netflix.com');
  assert.deepEqual(r.aliases, [['www.netflix.com', 'www.dradis.netflix.com']]);
  assert.equal(r.addresses.length, 1);
  assert.equal(r.addresses[0]!.name, 'www.dradis.netflix.com');
  assert.equal(r.addresses[0]!.words[0], ((203 << 24) | (113 << 8) | 7) >>> 0);
});

test('malformed DNS messages cost only that message: truncations and pointer loops return null', () => {
  const b = dnsResponse();
  for (let n = 0; n < b.length - 4; n++) parseDnsResponse(b, 0, n); // must not throw
  const loop = Uint8Array.from([0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  assert.equal(parseDnsResponse(loop, 0, loop.length), null);
  const query = Uint8Array.from([0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
  assert.equal(parseDnsResponse(query, 0, query.length), null);
});

test('the cache follows CNAMEs back to the asked name, honours the TTL in capture time and stays bounded', () => {
  const c = new DnsNameCache(2);
  const b = dnsResponse(10);
  c.learn(parseDnsResponse(b, 0, b.length)!, 0);
  const k = addressKey(4, ((203 << 24) | (113 << 8) | 7) >>> 0, 0, 0, 0);
  assert.equal(c.lookup(k, 5e6), 'www.netflix.com');
  assert.equal(c.lookup(k, 11e6), '', 'expired after its 10 s TTL');
  for (let i = 0; i < 3; i++) c.learn({ question: `h${i}.example`, aliases: [], addresses: [{ name: `h${i}.example`, ipVersion: 4, words: [i, 0, 0, 0], ttlS: 60 }] }, 0);
  assert.equal(c.size, 2);
  assert.equal(c.lookup(0, 1), '', 'least recently used entry evicted');
  assert.equal(c.lookup(2, 1), 'h2.example');
});

test('HTTP Host is read by content, lower case, without port', () => {
  const req = Buffer.from('GET /x HTTP/1.1\r\nUser-Agent: t\r\nHOST: WWW.Example.COM:8080\r\n\r\n');
  assert.equal(httpHost(req, 0, req.length), 'www.example.com');
  const resp = Buffer.from('HTTP/1.1 200 OK\r\nHost: no.example\r\n\r\n');
  assert.equal(httpHost(resp, 0, resp.length), '');
  const connect = Buffer.from('CONNECT api.example.org:443 HTTP/1.1\r\n\r\n');
  assert.equal(httpHost(connect, 0, connect.length), 'api.example.org');
});

test('DNS-answer naming: a TLS-less TCP flow to an answered address gets the asked name and its service', async () => {
  const built = dnsCapture();
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(FIXTURE, built);
  assert.ok(existsSync(FIXTURE), `${FIXTURE} is missing (UPDATE_GOLDEN=1 rebuilds it from its builder)`);
  assert.deepEqual(readFileSync(FIXTURE), built, 'committed capture matches its builder (UPDATE_GOLDEN=1 rewrites it)');
  const rows: { row: CellValue[]; names: ReturnType<typeof flowNamesOf>; get: (n: string) => CellValue }[] = [];
  await extractFlows({ path: FIXTURE }, {}, (row, columns) => {
    rows.push({ row: [...row], names: flowNamesOf(row, columns), get: (n) => row[columns.findIndex((c) => c.name === n)]! });
  });
  const cat = loadCatalog();
  const tcp = rows.find((r) => r.get('id_dst_addr') === '203.0.113.7')!;
  assert.equal(tcp.get('name_dns'), 'www.netflix.com');
  assert.equal(tcp.get('tls_sni'), '');
  const v = nameVerdict(tcp.names, cat);
  assert.deepEqual([v.app, v.appSource, v.category, v.categorySource], ['Netflix', 'dns', 'streaming', 'dns']);
  const other = rows.find((r) => r.get('id_dst_addr') === '198.51.100.9')!;
  assert.equal(other.get('name_dns'), '');
  assert.equal(nameVerdict(other.names, cat).category, 'unknown');
  const dns = rows.find((r) => r.get('id_dst_port') === 53)!;
  assert.equal(dns.get('name_dns_query'), 'www.netflix.com');
  assert.deepEqual([nameVerdict(dns.names, cat).app, nameVerdict(dns.names, cat).categorySource], ['DNS', 'port']);
});
