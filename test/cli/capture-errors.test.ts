import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run as classify } from '../../src/cli/classify.ts';
import { run as extract } from '../../src/cli/extract.ts';
import { PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';

async function stderrOf(fn: () => Promise<number>): Promise<{ code: number; err: string }> {
  const chunks: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((c: string | Uint8Array) => { chunks.push(String(c)); return true; }) as typeof process.stderr.write;
  try { return { code: await fn(), err: chunks.join('') }; } finally { process.stderr.write = write; }
}

test('the CLI names a capture it cannot read plainly: no byte offset for a missing file or a directory', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-capture-errors-'));
  const missing = await stderrOf(() => classify([path.join(dir, 'nope.pcap'), '--quiet', '--no-defaults', '-o', path.join(dir, 'a.csv')]));
  assert.equal(missing.code, 1);
  assert.ok(missing.err.endsWith(`veil: ${path.join(dir, 'nope.pcap')}: cannot read the capture: no such file\n`), missing.err);
  assert.doesNotMatch(missing.err, /byte offset/);
  const folder = await stderrOf(() => extract([dir, '-q', '-o', path.join(dir, 'b.csv')]));
  assert.equal(folder.code, 1);
  assert.equal(folder.err, `veil: ${dir}: cannot read the capture: it is a directory, not a capture file\n`);
});

test('a record longer than any packet is called a damaged length, at its byte offset', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-capture-errors-'));
  const w = new PcapWriter();
  w.writePacket(buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1000, dport: 53, payload: 'x' }));
  const bytes = Buffer.from(w.toBuffer());
  bytes.writeUInt32LE(524501, 24 + 8); // the first record's captured length
  const file = path.join(dir, 'forged.pcap');
  writeFileSync(file, bytes);
  const r = await stderrOf(() => extract([file, '-q', '-o', path.join(dir, 'c.csv')]));
  assert.equal(r.code, 1);
  assert.match(r.err, /forged\.pcap: pcap record claims 524501 captured bytes \(a damaged length: no packet exceeds 262144 bytes\) at byte offset 24/);
  assert.doesNotMatch(r.err, /snaplen 0/);
});
