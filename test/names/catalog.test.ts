import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CATEGORIES, buildCatalog, catalogMarkdown, combineVerdict, loadCatalog, matchName, matchPort, nameVerdict, serviceNamed,
  shippedCatalogFile, validateCatalogFile, type CatalogFile,
} from '../../src/names/index.ts';
import { leakReason } from '../../src/dataset/roles.ts';
import { SHARED_DATA, extended } from '../helpers/shared.ts';

const shipped = shippedCatalogFile();

test('the shipped catalogue is valid: versioned, no suffix or port claimed twice, at least 400 services', () => {
  assert.deepEqual(validateCatalogFile(shipped), []);
  assert.match(shipped.version, /^\d{4}\.\d{2}\.\d+$/);
  assert.ok(shipped.services.length >= 400, `${shipped.services.length} services`);
});

test('every category is documented and used; the nDPI table maps only onto our categories', () => {
  assert.deepEqual(Object.keys(shipped.categories ?? {}).sort(), [...CATEGORIES].sort());
  for (const c of CATEGORIES) assert.ok(shipped.services.some((s) => s.category === c), `no service in ${c}`);
  for (const [n, c] of Object.entries(shipped.ndpiCategories ?? {})) assert.ok(c === null || (CATEGORIES as readonly string[]).includes(c), n);
  const schema = JSON.parse(readFileSync(new URL('../../src/names/catalog/services.schema.json', import.meta.url), 'utf8'));
  assert.deepEqual([...schema.$defs.category.enum].sort(), [...CATEGORIES].sort());
});

test('every nDPI category in the shared captures\' results is in the mapping table', extended('nDPI categories'), () => {
  const dir = path.join(SHARED_DATA!, 'ndpi', 'result');
  const seen = new Set<string>();
  for (const f of readdirSync(dir)) for (const m of readFileSync(path.join(dir, f), 'utf8').matchAll(/\[cat: ([^/\]]+)\//g)) seen.add(m[1]!);
  const missing = [...seen].filter((c) => !(c in (shipped.ndpiCategories ?? {})));
  assert.deepEqual(missing, []);
});

test('a suffix or port claimed by two services is refused', () => {
  const f: CatalogFile = { version: '1', services: [
    { name: 'A', category: 'chat', domains: ['a.example'], ports: ['udp/1000-1002'] },
    { name: 'B', category: 'mail', domains: ['a.example'], ports: ['udp/1001'] },
    { name: 'C', category: 'nonsense' as never, domains: ['C.Example'] },
  ] };
  const errs = validateCatalogFile(f);
  assert.ok(errs.some((e) => e.includes("suffix 'a.example' already claimed by A")), errs.join('\n'));
  assert.ok(errs.some((e) => e.includes('port udp/1001 already claimed by A')));
  assert.ok(errs.some((e) => e.includes("unknown category 'nonsense'")));
  assert.ok(errs.some((e) => e.includes("'C.Example' is not a lower-case domain suffix")));
});

test('suffixes match on label boundaries and the longest wins', () => {
  const cat = loadCatalog();
  assert.equal(matchName(cat, 'teams.microsoft.com')?.name, 'Microsoft Teams');
  assert.equal(matchName(cat, 'eu-prod.asyncgw.teams.microsoft.com')?.name, 'Microsoft Teams');
  assert.equal(matchName(cat, 'www.microsoft.com')?.name, 'Microsoft');
  assert.equal(matchName(cat, 'notmicrosoft.com'), null);
  assert.equal(matchName(cat, '*.googlevideo.com')?.name, 'YouTube');
  assert.equal(matchName(cat, 'WWW.YOUTUBE.COM.')?.name, 'YouTube');
  assert.equal(matchPort(cat, 17, 53)?.name, 'DNS');
  assert.equal(matchPort(cat, 50, 0)?.name, 'IPsec');
});

test('a user catalogue is merged over the shipped one and wins on conflict', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-catalog-'));
  const file = path.join(dir, 'mine.json');
  writeFileSync(file, JSON.stringify({ version: 'mine-1', services: [
    { name: 'Our Teams relay', category: 'voip', domains: ['teams.microsoft.com'] },
    { name: 'Intranet', category: 'browsing', domains: ['intra.example'], ports: ['tcp/8443'] },
  ] }));
  const cat = loadCatalog([file]);
  assert.equal(matchName(cat, 'teams.microsoft.com')?.name, 'Our Teams relay');
  assert.equal(matchName(cat, 'www.microsoft.com')?.name, 'Microsoft');
  assert.equal(matchName(cat, 'wiki.intra.example')?.origin, file);
  assert.equal(matchPort(cat, 6, 8443)?.name, 'Intranet');
  assert.match(cat.version, /\+mine-1$/);
  writeFileSync(file, '{"version": "x", "services": [{"name": "A", "category": "chat"}]}');
  assert.throws(() => loadCatalog([file]), /neither domains nor ports/);
});

test('verdict: names beat ports, a DNS answer comes after a port convention, uncatalogued web names are browsing', () => {
  const cat = loadCatalog();
  const base = { proto: 6, sport: 50000, dport: 443 };
  const teams = nameVerdict({ ...base, sni: 'teams.microsoft.com', handshake: 'tls' }, cat);
  assert.deepEqual([teams.app, teams.appSource, teams.category], ['Microsoft Teams', 'sni', 'chat']);
  assert.equal(nameVerdict({ ...base, sni: 'www.youtube.com', handshake: 'quic', proto: 17 }, cat).categorySource, 'quic');
  assert.equal(nameVerdict({ ...base, certSubject: 'C=US, O=Netflix, CN=*.nflxvideo.net' }, cat).app, 'Netflix');
  assert.equal(nameVerdict({ ...base, dport: 80, httpHost: 'www.bbc.co.uk' }, cat).appSource, 'http');
  const imaps = nameVerdict({ ...base, dport: 993, sni: 'imap.unknown-provider.example' }, cat);
  assert.deepEqual([imaps.app, imaps.appSource], ['IMAPS', 'port'], 'an uncatalogued name yields to a port convention');
  const ntp = nameVerdict({ proto: 17, sport: 50000, dport: 123, dnsName: 'time.apple.com' }, cat);
  assert.deepEqual([ntp.app, ntp.categorySource], ['NTP', 'port']);
  const web = nameVerdict({ ...base, sni: 'some-shop.example' }, cat);
  assert.deepEqual([web.app, web.category, web.categorySource], ['', 'browsing', 'sni']);
  assert.equal(nameVerdict({ ...base, dport: 40000 }, cat).category, 'unknown');
  const https = nameVerdict(base, cat);
  assert.deepEqual([https.app, https.category, https.categorySource, https.confidence], ['', 'browsing', 'port', 0.5], 'tcp/443 with no name: a weak guess, no application');
  const viaDns = nameVerdict({ ...base, dnsName: 'www.netflix.com' }, cat);
  assert.deepEqual([viaDns.app, viaDns.appSource], ['Netflix', 'dns'], 'a DNS answer beats a weak port');
});

test('combiner: a guess (weak port, uncatalogued name) beats behaviour unless told to yield to a more confident model', () => {
  const cat = loadCatalog();
  const guess = nameVerdict({ proto: 6, sport: 50000, dport: 443 }, cat);
  assert.deepEqual([combineVerdict(guess, { label: 'VOIP', confidence: 0.8 }).category, combineVerdict(guess).categorySource], ['browsing', 'port']);
  const yielded = combineVerdict(guess, { label: 'VOIP', confidence: 0.8 }, { modelOverridesGuesses: true });
  assert.deepEqual([yielded.category, yielded.categorySource], ['voip', 'model']);
  assert.equal(combineVerdict(guess, { label: 'VOIP', confidence: 0.45 }, { modelOverridesGuesses: true }).category, 'browsing');
  const dnsFlow = nameVerdict({ proto: 17, sport: 40000, dport: 53 }, cat);
  assert.equal(combineVerdict(dnsFlow, { label: 'VOIP', confidence: 0.99 }).category, 'network_services', 'a strong port convention beats behaviour');
});

test('combiner: names beat behaviour, behaviour answers where names are silent, unknown when all are unsure', () => {
  const cat = loadCatalog();
  const named = nameVerdict({ proto: 6, sport: 50000, dport: 443, sni: 'zoom.us' }, cat);
  const a = combineVerdict(named, { label: 'BROWSING', confidence: 0.9 });
  assert.deepEqual([a.category, a.categorySource, a.modelCategory, a.modelConfidence], ['voip', 'sni', 'browsing', 0.9]);
  const silent = nameVerdict({ proto: 6, sport: 50000, dport: 40000 }, cat);
  const b = combineVerdict(silent, { label: 'STREAMING', confidence: 0.8 });
  assert.deepEqual([b.category, b.categorySource, b.app, b.appSource], ['streaming', 'model', '', 'none']);
  const c = combineVerdict(silent, { label: 'STREAMING', confidence: 0.3 });
  assert.deepEqual([c.category, c.categorySource], ['unknown', 'none']);
  const d = combineVerdict(silent, { label: 'unknown', confidence: 0.9, unknownReason: 'too_few_packets' });
  assert.deepEqual([d.category, d.modelCategory, d.modelUnknownReason], ['unknown', 'unknown', 'too_few_packets']);
  assert.equal(combineVerdict(silent).category, 'unknown');
});

test('names columns are leaky: never learnt from', () => {
  for (const n of ['name_http_host', 'name_dns', 'name_dns_query']) assert.ok(leakReason(n), n);
});

test('docs/SERVICES.md is the page generated from the catalogue (npm run docs:services)', () => {
  const committed = readFileSync(new URL('../../docs/SERVICES.md', import.meta.url), 'utf8');
  assert.equal(committed, catalogMarkdown(), 'docs/SERVICES.md is stale: run npm run docs:services');
});

test('buildCatalog keeps every service, later files winning', () => {
  const cat = buildCatalog([
    { file: { version: '1', services: [{ name: 'X', category: 'chat', domains: ['x.example'] }] }, origin: 'a' },
    { file: { version: '2', services: [{ name: 'Y', category: 'mail', domains: ['x.example'] }] }, origin: 'b' },
  ]);
  assert.equal(cat.services.length, 2);
  assert.equal(matchName(cat, 'm.x.example')?.name, 'Y');
});

test('the shipped catalogue validates against its JSON schema', async (t) => {
  let Ajv2020: (new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } }) | null = null;
  try {
    Ajv2020 = ((await import('ajv/dist/2020.js')) as unknown as { default: typeof Ajv2020 }).default;
  } catch {
    t.skip('ajv (a dependency of fastify) not installed');
    return;
  }
  const schema = JSON.parse(readFileSync(new URL('../../src/names/catalog/services.schema.json', import.meta.url), 'utf8'));
  const validate = new Ajv2020!({ allErrors: true, strict: false }).compile(schema);
  const data = JSON.parse(readFileSync(new URL('../../src/names/catalog/services.json', import.meta.url), 'utf8'));
  assert.ok(validate(data), JSON.stringify(validate.errors));
  assert.ok(!validate({ version: '1', services: [{ name: 'x', category: 'nonsense', domains: ['a.example'] }] }));
});

test('an application model names the flow where its names are hidden, never over a name', () => {
  const cat = loadCatalog([]);
  // No name and no port convention (a VPN's inner flow, name-less QUIC on an odd port).
  const hidden = nameVerdict({ proto: 17, sport: 50000, dport: 40001 }, cat);
  const zoom = serviceNamed(cat, 'Zoom')!;
  assert.equal(zoom.category, 'voip');
  const app = { label: 'Zoom', confidence: 0.8, category: zoom.category };
  const v = combineVerdict(hidden, null, { app });
  assert.deepEqual([v.app, v.appSource, v.category, v.categorySource, v.categoryConfidence], ['Zoom', 'model', 'voip', 'model', 0.8]);
  // Over a weak port guess (tcp/443 is 'browsing') the named service's category goes with it.
  const https = combineVerdict(nameVerdict({ proto: 6, sport: 50000, dport: 443 }, cat), null, { app });
  assert.deepEqual([https.app, https.category, https.categorySource], ['Zoom', 'voip', 'model']);
  // ... and the category model, which may not override a guess, does not ride in with it, however sure.
  const httpsBoth = combineVerdict(nameVerdict({ proto: 6, sport: 50000, dport: 443 }, cat), { label: 'streaming', confidence: 0.9 }, { app });
  assert.deepEqual([httpsBoth.app, httpsBoth.category, httpsBoth.categoryConfidence], ['Zoom', 'voip', 0.8]);
  // A name in view wins over behaviour.
  const named = combineVerdict(nameVerdict({ sni: 'www.netflix.com', handshake: 'tls', proto: 6, sport: 50000, dport: 443 }, cat), null, { app });
  assert.deepEqual([named.app, named.appSource, named.category], ['Netflix', 'sni', 'streaming']);
  // Unsure: no answer from it.
  const unsure = combineVerdict(hidden, null, { app: { ...app, confidence: 0.3 } });
  assert.deepEqual([unsure.app, unsure.appSource, unsure.category], ['', 'none', 'unknown']);
  // The surer of the category model and the application model's catalogued category answers the category.
  const both = combineVerdict(hidden, { label: 'streaming', confidence: 0.9 }, { app });
  assert.deepEqual([both.app, both.category, both.categoryConfidence], ['Zoom', 'streaming', 0.9]);
  assert.equal(combineVerdict(hidden, { label: 'streaming', confidence: 0.6 }, { app }).category, 'voip');
});
