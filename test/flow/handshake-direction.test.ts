// A capture that begins after the client's SYN: the flow's first packet is the server's SYN-ACK, so the meter
// makes the server the flow's source. The handshake metadata must still come out: the ClientHello is recognised
// by content in direction 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { extractFlows } from '../../src/flow/meter.ts';
import { PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';
import type { CellValue, ColumnDef } from '../../src/flow/columns.ts';
import { clientHelloBody, serverHelloBody, handshake, record, ext, sext } from '../tls/builder.ts';

const CLIENT = { ip: '10.0.0.1', port: 50000 };
const SERVER = { ip: '10.0.0.2', port: 443 };

async function flowOf(packets: Parameters<typeof buildPacket>[0][]): Promise<Record<string, CellValue>> {
  const w = new PcapWriter();
  let ts = 1_700_000_000_000_000;
  for (const p of packets) w.writePacket(buildPacket(p), { tsUs: (ts += 1000) });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'veil-hsdir-')), 'x.pcap');
  writeFileSync(file, w.toBuffer());
  const rows: Record<string, CellValue>[] = [];
  await extractFlows({ path: file }, {}, (row: CellValue[], cols: ColumnDef[]) => {
    rows.push(Object.fromEntries(cols.map((c, i) => [c.name, row[i]!])));
  });
  assert.equal(rows.length, 1);
  return rows[0]!;
}

const ch = record(22, handshake(1, clientHelloBody({ ciphers: [0x1301, 0xc02f], extensions: [ext.sni('late.example'), ext.alpn(['h2'])] })));
const sh = record(22, handshake(2, serverHelloBody({ cipher: 0xc02f, extensions: [sext.alpn('h2')] })), 0x0303);
const c2s = { src: CLIENT.ip, dst: SERVER.ip, sport: CLIENT.port, dport: SERVER.port };
const s2c = { src: SERVER.ip, dst: CLIENT.ip, sport: SERVER.port, dport: CLIENT.port };

for (const [name, first] of [
  ['from the SYN', [{ ...c2s, flags: 'S', seq: 999 }, { ...s2c, flags: 'SA', seq: 4999, ack: 1000 }]],
  ['from the SYN-ACK (the SYN missed)', [{ ...s2c, flags: 'SA', seq: 4999, ack: 1000 }]],
] as const) {
  test(`handshake metadata of a capture starting ${name}`, async () => {
    const r = await flowOf([
      ...first,
      { ...c2s, flags: 'A', seq: 1000, ack: 5000 },
      { ...c2s, flags: 'PA', seq: 1000, ack: 5000, payload: ch },
      { ...s2c, flags: 'PA', seq: 5000, ack: 1000 + ch.length, payload: sh },
    ]);
    assert.equal(r.tls_sni, 'late.example');
    assert.equal(r.tls_alpn, 'h2');
    assert.equal(r.tls_status, 'parsed');
    assert.match(String(r.tls_ja3_hash), /^[0-9a-f]{32}$/);
    assert.match(String(r.tls_ja4), /^t\d\dd/);
  });
}
