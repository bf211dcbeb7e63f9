import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CaptureError, readCapture } from '../../src/wire/index.ts';
import { PcapngWriter, PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';
import { extended, SHARED_DATA } from '../helpers/shared.ts';
import { collect, FIXTURES, have, oneChunk, rng, tempDir, type Frame } from './util.ts';

/**
 * Damaged captures: the reader must never throw, must deliver every frame before the damage exactly as in the
 * intact file, and must report the damage as a CaptureError naming the file and the byte offset.
 */

interface Intact {
  name: string;
  buf: Buffer;
  frames: Frame[];
}

async function intact(name: string, buf: Buffer): Promise<Intact> {
  const { frames, summary } = await collect({ stream: oneChunk(buf), name });
  assert.equal(summary.error, null, `${name} is intact`);
  return { name, buf, frames };
}

/**
 * Reads `damaged` (a copy of `base.buf` changed from byte `firstDamage` on) and checks the contract. Returns the
 * error (or null).
 */
async function checkDamaged(base: Intact, damaged: Buffer, firstDamage: number, what: string): Promise<CaptureError | null> {
  let res: Awaited<ReturnType<typeof collect>>;
  try {
    res = await collect({ stream: oneChunk(damaged), name: base.name });
  } catch (err) {
    assert.fail(`${base.name} ${what}: readCapture threw ${(err as Error).stack}`);
  }
  const { frames, summary } = res;
  // Every frame whose record ends before the damage is delivered unchanged.
  let recordStart = 0;
  for (let i = 0; i < base.frames.length; i++) {
    const start = base.frames[i]!.fileOffset;
    const end = i + 1 < base.frames.length ? base.frames[i + 1]!.fileOffset : base.buf.length;
    if (start <= firstDamage) recordStart = start;
    if (end > firstDamage) break;
    assert.deepEqual(frames[i], base.frames[i], `${base.name} ${what}: frame ${i} before the damage at ${firstDamage}`);
  }
  const e = summary.error;
  if (e) {
    assert.ok(e instanceof CaptureError, `${what}: error is a CaptureError`);
    assert.ok(e.message.startsWith(`${base.name}: `), `${what}: message names the file: ${e.message}`);
    assert.ok(e.message.endsWith(`at byte offset ${e.offset}`), `${what}: message names the offset: ${e.message}`);
    assert.ok(e.offset <= damaged.length, `${what}: offset inside the file`);
    assert.ok(e.offset >= Math.min(recordStart, firstDamage), `${what}: error at ${e.offset} not before the damaged record ${recordStart}`);
  }
  return e;
}

/** Flips `n` random bytes (seeded); returns the copy and the lowest flipped offset. */
function flip(buf: Buffer, seed: number, n: number, from = 0): { out: Buffer; first: number } {
  const r = rng(seed);
  const out = Buffer.from(buf);
  let first = buf.length;
  for (let i = 0; i < n; i++) {
    const at = from + Math.floor(r() * (buf.length - from));
    out[at] = out[at]! ^ (1 + Math.floor(r() * 255));
    first = Math.min(first, at);
  }
  return { out, first };
}

/** Random cut points, first damage = the cut. */
function cuts(len: number, seed: number, n: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * len));
}

function smallPcap(): { buf: Buffer; records: number[] } {
  const w = new PcapWriter({ nanosecond: true });
  const records: number[] = [];
  for (let i = 0; i < 6; i++) records.push(w.writePacket(buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: i, payload: 'd'.repeat(i * 10) })));
  return { buf: w.toBuffer(), records };
}

function smallPcapng(): { buf: Buffer; blocks: number[]; packets: number[] } {
  const w = new PcapngWriter({ byteOrder: 'be', interfaces: [{ linkType: 1 }, { linkType: 101, tsresol: 9 }] });
  const blocks = [0, 28, 48]; // SHB, IDB 0, IDB 1 (28 + 20 + 32 bytes)
  const packets: number[] = [];
  for (let i = 0; i < 5; i++) {
    const at = w.writePacket(buildPacket({ link: i % 2 ? 'raw' : 'ether', src: '10.0.0.1', dst: '10.0.0.2', payload: 'e'.repeat(i * 3) }), { iface: i % 2 });
    blocks.push(at);
    packets.push(at);
    if (i === 2) blocks.push(w.writeBlock(5, Buffer.alloc(12)));
  }
  return { buf: w.toBuffer(), blocks, packets };
}

test('a plain-text file is BAD_MAGIC at offset 0; empty and tiny files are TRUNCATED', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cases: [string, Buffer, string][] = [
      ['notes.txt', Buffer.from('This is not a capture, just some text.\n'), 'BAD_MAGIC'],
      ['empty.pcap', Buffer.alloc(0), 'TRUNCATED'],
      ['three.pcap', Buffer.from([0xd4, 0xc3, 0xb2]), 'TRUNCATED'],
      ['header-only.pcap', smallPcap().buf.subarray(0, 20), 'TRUNCATED'],
      ['zip.pcap', Buffer.from('PK\x03\x04 some zip'), 'BAD_MAGIC'],
    ];
    for (const [name, buf, code] of cases) {
      const file = path.join(dir, name);
      writeFileSync(file, buf);
      const s = await readCapture({ path: file }, () => assert.fail('no frames'));
      assert.equal(s.error?.code, code, name);
      assert.equal(s.error?.offset, 0);
      assert.equal(s.format === 'unknown' || s.format === 'pcap', true);
      assert.match(s.error!.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .* at byte offset 0$`));
    }
  } finally {
    cleanup();
  }
});

test('a missing file or a directory throws CaptureError IO naming the file, with no byte offset', async () => {
  await assert.rejects(readCapture({ path: '/nonexistent/x.pcap' }, () => {}), (e: unknown) =>
    e instanceof CaptureError && e.code === 'IO' && e.message === '/nonexistent/x.pcap: cannot read the capture: no such file');
  await assert.rejects(readCapture({ path: FIXTURES }, () => {}), (e: unknown) =>
    e instanceof CaptureError && e.code === 'IO' && e.message === `${FIXTURES}: cannot read the capture: it is a directory, not a capture file`);
});

test('pcap truncated at every byte: the complete records, then TRUNCATED at the partial one', async () => {
  const { buf, records } = smallPcap();
  const base = await intact('small.pcap', buf);
  for (let cut = 0; cut <= buf.length; cut++) {
    const { frames, summary } = await collect({ stream: oneChunk(buf.subarray(0, cut)), name: 'small.pcap' });
    const complete = records.filter((r, i) => (records[i + 1] ?? buf.length) <= cut).length;
    assert.deepEqual(frames, base.frames.slice(0, complete), `cut ${cut}`);
    const atBoundary = cut === 24 || records.includes(cut) || cut === buf.length;
    if (atBoundary) assert.equal(summary.error, null, `cut ${cut}`);
    else {
      assert.equal(summary.error?.code, 'TRUNCATED', `cut ${cut}`);
      assert.equal(summary.error?.offset, cut < 24 ? 0 : records[complete], `cut ${cut}`);
    }
  }
});

test('pcapng truncated at every byte: the complete blocks, then TRUNCATED at the partial block', async () => {
  const { buf, blocks, packets } = smallPcapng();
  const base = await intact('small.pcapng', buf);
  for (let cut = 0; cut <= buf.length; cut++) {
    const { frames, summary } = await collect({ stream: oneChunk(buf.subarray(0, cut)), name: 'small.pcapng' });
    const ends = blocks.map((b, i) => blocks[i + 1] ?? buf.length);
    const complete = packets.filter((p) => ends[blocks.indexOf(p)]! <= cut).length;
    assert.deepEqual(frames, base.frames.slice(0, complete), `cut ${cut}`);
    if (cut === buf.length || (cut > 0 && blocks.includes(cut))) assert.equal(summary.error, null, `cut ${cut}`);
    else {
      assert.equal(summary.error?.code, 'TRUNCATED', `cut ${cut}`);
      const partial = [...blocks].reverse().find((b) => b <= cut) ?? 0;
      assert.equal(summary.error?.offset, partial, `cut ${cut}`);
    }
  }
});

test('an absurd capture length in a pcap record header is CORRUPT_RECORD at that record', async () => {
  const { buf, records } = smallPcap();
  const base = await intact('small.pcap', buf);
  for (const [k, caplen] of [[0, 0x7fffffff], [3, 0xffffffff], [5, 262145]] as const) {
    const bad = Buffer.from(buf);
    bad.writeUInt32LE(caplen, records[k]! + 8);
    const e = await checkDamaged(base, bad, records[k]!, `caplen ${caplen} in record ${k}`);
    assert.equal(e?.code, 'CORRUPT_RECORD');
    assert.equal(e?.offset, records[k]);
    assert.match(e!.message, /pcap record claims \d+ captured bytes \(a damaged length: /);
  }
});

test('a header claiming a huge snaplen does not lift the record cap: a 600 MB record is damage, not buffered', async () => {
  const { buf, records } = smallPcap();
  const base = await intact('small.pcap', buf);
  for (const snaplen of [0xffffffff, 0x7fffffff, 700_000_000]) {
    const bad = Buffer.from(buf);
    bad.writeUInt32LE(snaplen, 16);
    bad.writeUInt32LE(600_000_000, records[2]! + 8);
    const e = await checkDamaged(base, bad, records[2]!, `snaplen ${snaplen}, 600 MB record`);
    assert.equal(e?.code, 'CORRUPT_RECORD');
    assert.equal(e?.offset, records[2]);
    assert.match(e!.message, /pcap record claims 600000000 captured bytes \(a damaged length: no packet exceeds 262144 bytes\) at byte offset \d+$/);
  }
});

test('pcapng block damage (length not a multiple of 4, below minimum, trailing mismatch, caplen past the block, unknown interface) is CORRUPT_RECORD at the block', async () => {
  const { buf, packets } = smallPcapng();
  const base = await intact('small.pcapng', buf);
  const p = packets[2]!;
  const len = buf.readUInt32BE(p + 4);
  const edits: [string, (b: Buffer) => void, RegExp][] = [
    ['length % 4', (b) => b.writeUInt32BE(len + 2, p + 4), /invalid total length/],
    ['length < 12', (b) => b.writeUInt32BE(8, p + 4), /invalid total length/],
    ['EPB below 32', (b) => b.writeUInt32BE(20, p + 4), /below its minimum/],
    ['huge length', (b) => b.writeUInt32BE(0x7ffffffc, p + 4), /invalid total length/],
    ['trailing length', (b) => b.writeUInt32BE(len + 4, p + len - 4), /trailing length/],
    ['caplen past block', (b) => b.writeUInt32BE(len, p + 20), /claims \d+ captured bytes but its block holds \d+/],
    ['interface 7', (b) => b.writeUInt32BE(7, p + 8), /interface 7/],
  ];
  for (const [what, edit, re] of edits) {
    const bad = Buffer.from(buf);
    edit(bad);
    const e = await checkDamaged(base, bad, p, what);
    assert.equal(e?.code, 'CORRUPT_RECORD', what);
    assert.equal(e?.offset, p, what);
    assert.match(e!.message, re, what);
  }
  const badBom = Buffer.from(buf);
  badBom.writeUInt32BE(0x11223344, 8);
  const e = await checkDamaged(base, badBom, 8, 'byte-order magic');
  assert.equal(e?.code, 'BAD_MAGIC');
});

test('random byte flips in built captures: no exception, intact prefix, located error (seeded)', async () => {
  for (const [name, buf] of [['small.pcap', smallPcap().buf], ['small.pcapng', smallPcapng().buf]] as const) {
    const base = await intact(name, buf);
    for (let seed = 1; seed <= 300; seed++) {
      const { out, first } = flip(buf, seed, 1 + (seed % 12));
      await checkDamaged(base, out, first, `seed ${seed}`);
    }
  }
});

const fixtureFiles = readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f));

test('committed fixtures: seeded truncations, byte flips and absurd caplens never escape as exceptions', async () => {
  for (const f of fixtureFiles) {
    const base = await intact(f, readFileSync(path.join(FIXTURES, f)));
    for (const cut of cuts(base.buf.length, 7, 25)) await checkDamaged(base, base.buf.subarray(0, cut), cut, `cut ${cut}`);
    for (let seed = 1; seed <= 60; seed++) {
      const { out, first } = flip(base.buf, seed * 31, 1 + (seed % 20));
      await checkDamaged(base, out, first, `flip seed ${seed}`);
    }
    // Absurd caplen in a random frame's record header (pcap: incl_len at +8; pcapng EPB: Captured Len at +20).
    const r = rng(99);
    for (let i = 0; i < 5; i++) {
      const k = Math.floor(r() * base.frames.length);
      const at = base.frames[k]!.fileOffset;
      const bad = Buffer.from(base.buf);
      const le = bad.readUInt32LE(0) === 0xa1b2c3d4 || bad.readUInt32LE(0) === 0xa1b23c4d || bad.readUInt32LE(8) === 0x1a2b3c4d;
      const off = f.endsWith('.pcapng') ? at + 20 : at + 8;
      if (le) bad.writeUInt32LE(0x7ffffff0, off);
      else bad.writeUInt32BE(0x7ffffff0, off);
      const e = await checkDamaged(base, bad, off, `caplen in frame ${k}`);
      assert.equal(e?.code, 'CORRUPT_RECORD');
      assert.equal(e?.offset, at);
    }
  }
});

test('editcap -E 0.01 (seeded) damages packet bytes only: every frame is still read and decoded', { skip: have('editcap') ? false : 'editcap not installed' }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const f of fixtureFiles) {
      const src = path.join(FIXTURES, f);
      const base = await collect({ path: src });
      for (const seed of [1, 2, 3]) {
        const out = path.join(dir, `e${seed}-${f}`);
        execFileSync('editcap', ['-E', '0.01', '--seed', String(seed), '-F', f.endsWith('.pcapng') ? 'pcapng' : 'pcap', src, out], { stdio: 'ignore' });
        const got = await collect({ path: out });
        assert.equal(got.summary.error, null, `${f} seed ${seed}`);
        assert.deepEqual(got.frames.map((x) => [x.capLen, x.wireLen, x.tsUs]), base.frames.map((x) => [x.capLen, x.wireLen, x.tsUs]));
      }
    }
  } finally {
    cleanup();
  }
});

test('real captures (ndpi): seeded truncations, flips and editcap -E keep the contract', extended('damage tests on ../shared/data/ndpi/pcap'), async () => {
  const dirPath = path.join(SHARED_DATA!, 'ndpi', 'pcap');
  const files = readdirSync(dirPath).filter((f) => /\.pcap(ng)?$/.test(f)).sort();
  let checked = 0;
  for (const [i, f] of files.entries()) {
    const buf = readFileSync(path.join(dirPath, f));
    const first = await collect({ stream: oneChunk(buf), name: f });
    if (first.summary.error) continue; // already damaged upstream (fuzz captures): nothing intact to compare with
    const base: Intact = { name: f, buf, frames: first.frames };
    for (const cut of cuts(buf.length, i + 1, 2)) await checkDamaged(base, buf.subarray(0, cut), cut, `cut ${cut}`);
    for (const seed of [i * 3 + 1, i * 3 + 2]) {
      const { out, first: at } = flip(buf, seed, 1 + (seed % 16));
      await checkDamaged(base, out, at, `flip seed ${seed}`);
    }
    checked++;
  }
  assert.ok(checked > 300, `checked ${checked} captures`);
  if (!have('editcap')) return;
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(dir, { recursive: true });
    for (const f of files.filter((_, i) => i % 19 === 0)) {
      const ref = await collect({ path: path.join(dirPath, f) });
      if (ref.summary.error) continue;
      const out = path.join(dir, f);
      execFileSync('editcap', ['-E', '0.01', '--seed', '5', path.join(dirPath, f), out], { stdio: 'ignore' });
      const got = await collect({ path: out });
      assert.equal(got.summary.error, null, f);
      assert.deepEqual(got.frames.map((x) => x.wireLen), ref.frames.map((x) => x.wireLen), f);
    }
  } finally {
    cleanup();
  }
});
