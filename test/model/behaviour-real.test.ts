import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTable, columnStrings, requireColumn } from '../../src/dataset/index.ts';
import { prepareTraining, loadModel } from '../../src/model/index.ts';
import { CATEGORIES } from '../../src/names/index.ts';
import { buildRealTable, LABEL_COLUMN } from '../../bench/real-labels.ts';
import { behaviourRoles, forbiddenFeature } from '../../bench/real-behaviour.ts';
import { SHARED_DATA, extended } from '../helpers/shared.ts';

const MODEL = fileURLToPath(new URL('../../models/category.veilmodel', import.meta.url));
/** Sources that must never reach a behaviour model, by exact name or prefix. */
const NAMES_ADDRESSES_PORTS = /^(id_|tls_sni$|tls_cert_|name_|tls_client_hello_len$|category$)/;

test('the real-capture table gives the behaviour model no name, address or port column', extended('the real-capture behaviour table'), async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-behaviour-real-'));
  try {
    const out = path.join(dir, 'flows.csv');
    const files = ['ndpi/pcap/teams.pcap', 'ndpi/pcap/dns_dot.pcap', 'ndpi/pcap/quic-33.pcapng', 'ndpi/pcap/NTPv4.pcap', 'ndpi/pcap/http-manipulated.pcap']
      .filter((f) => existsSync(path.join(SHARED_DATA!, f)));
    assert.ok(files.length >= 3, 'expected nDPI test captures in ../shared/data/ndpi/pcap');
    const s = await buildRealTable({ data: SHARED_DATA!, output: out, files });
    assert.ok(s.labelled > 0, 'some flows are named');
    const { table } = await loadTable(out);
    // The names, addresses and ports are in the table (the label came from them) ...
    for (const c of ['id_capture', 'id_src_addr', 'id_dst_port', 'tls_sni', 'name_verdict_source', LABEL_COLUMN]) requireColumn(table, c);
    for (const v of columnStrings(requireColumn(table, LABEL_COLUMN))) assert.ok((CATEGORIES as readonly string[]).includes(v!), `label ${v} is a catalogue category`);
    // ... and none of them is a feature, with or without the client fingerprints.
    for (const fp of [false, true]) {
      const prep = prepareTraining(table, { label: LABEL_COLUMN, roles: behaviourRoles(fp) });
      const sources = [...new Set(prep.specs.map((x) => x.source))];
      assert.ok(sources.length > 50, 'behaviour columns remain');
      for (const src of sources) {
        assert.doesNotMatch(src, NAMES_ADDRESSES_PORTS, `feature ${src}`);
        assert.equal(forbiddenFeature(src), null, `feature ${src}`);
      }
      assert.equal(sources.includes('tls_ja4'), fp);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the shipped behaviour model learnt from no name, address or port column', { skip: existsSync(MODEL) ? false : 'models/category.veilmodel not built' }, async () => {
  const m = await loadModel(MODEL);
  for (const f of m.manifest.features) {
    assert.doesNotMatch(f.source, NAMES_ADDRESSES_PORTS, `feature ${f.name}`);
    assert.equal(forbiddenFeature(f.source), null, `feature ${f.name}`);
  }
  // Metered as veil classify meters for the ISCX models, so the two can be swapped and scored on the same flows.
  assert.equal(m.manifest.meter?.activeTimeoutS, 15);
});
