import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { readCapture } from '../../src/wire/index.ts';
import { PcapngWriter, PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';
import { chunkedStream, collect, FIXTURES, rng, tempDir } from './util.ts';

const REPO = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** A pcapng that exercises every record kind: two sections, several interfaces, skipped blocks, OPB/SPB. */
function mixedPcapng(): Buffer {
  const a = new PcapngWriter({ interfaces: [{ linkType: 1, tsresol: 9 }, { linkType: 113 }] });
  const b = new PcapngWriter({ byteOrder: 'be', interfaces: [{ linkType: 101 }] });
  for (let i = 0; i < 40; i++) {
    const payload = 'p'.repeat((i * 37) % 300);
    a.writePacket(buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: i, dport: 443, payload }), { iface: 0, block: i % 7 === 3 ? 'opb' : 'epb' });
    a.writePacket(buildPacket({ link: 'sll', src: '::1', dst: '::2', proto: 'udp', payload }), { iface: 1, comment: i % 5 ? undefined : 'c' });
    if (i % 9 === 0) a.writeBlock(5, Buffer.alloc(28));
    b.writePacket(buildPacket({ link: 'raw', src: '10.0.0.3', dst: '10.0.0.4', proto: 'icmp', payload }));
  }
  a.writePacket(buildPacket({ src: '10.0.0.1', dst: '10.0.0.2' }), { block: 'spb' });
  return Buffer.concat([a.toBuffer(), b.toBuffer()]);
}

function bigPcap(): Buffer {
  const w = new PcapWriter({ nanosecond: true, byteOrder: 'be' });
  for (let i = 0; i < 60; i++) w.writePacket(buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: i, payload: 'x'.repeat((i * 53) % 1400) }));
  return w.toBuffer();
}

const inputs: { name: string; buf: Buffer }[] = [
  { name: 'mixed.pcapng', buf: mixedPcapng() },
  { name: 'big.pcap', buf: bigPcap() },
  ...readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => ({ name: f, buf: readFileSync(path.join(FIXTURES, f)) })),
];

for (const { name, buf } of inputs) {
  test(`${name}: 1..7-byte chunks give the same frames and summary as one chunk`, async () => {
    const whole = await collect({ stream: chunkedStream(buf, () => buf.length), name });
    assert.equal(whole.summary.error, null);
    assert.ok(whole.frames.length > 0);
    for (const [label, size] of [
      ['1-byte', () => 1],
      ['random 1..7 (seed 1)', ((r) => () => 1 + Math.floor(r() * 7))(rng(1))],
      ['random 1..7 (seed 2)', ((r) => () => 1 + Math.floor(r() * 7))(rng(2))],
      ['random 1..4096 (seed 3)', ((r) => () => 1 + Math.floor(r() * 4096))(rng(3))],
    ] as [string, () => number][]) {
      const got = await collect({ stream: chunkedStream(buf, size), name });
      assert.deepEqual(got.frames, whole.frames, label);
      assert.deepEqual(got.summary, whole.summary, label);
    }
  });
}

test('file reads with small read sizes (records straddling every boundary) match the stream reads', async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const { name, buf } of inputs.slice(0, 4)) {
      const file = path.join(dir, name);
      writeFileSync(file, buf);
      const ref = await collect({ stream: chunkedStream(buf, () => buf.length), name: file });
      // 1- and 3-byte reads only on the small inputs: each read is a round trip through the thread pool.
      for (const highWaterMark of buf.length > 10_000 ? [7, 100, 1 << 20] : [1, 3, 7, 100, 1 << 20]) {
        const got = await collect({ path: file }, { highWaterMark });
        assert.deepEqual(got.frames, ref.frames, `${name} hwm ${highWaterMark}`);
        assert.equal(got.summary.bytesRead, buf.length);
        assert.equal(got.summary.totalBytes, buf.length);
      }
    }
  } finally {
    cleanup();
  }
});

test('onProgress reports growing byte counts ending at the file size', async () => {
  const file = path.join(FIXTURES, 'many_interfaces.pcapng');
  const size = statSync(file).size;
  const seen: number[] = [];
  const s = await readCapture({ path: file }, () => {}, { onProgress: (n) => seen.push(n), highWaterMark: 4096 });
  assert.equal(s.totalBytes, size);
  assert.ok(seen.length >= Math.floor(size / 4096));
  assert.deepEqual([...seen].sort((a, b) => a - b), seen);
  assert.equal(seen.at(-1), size);
});

test('an AbortSignal stops the read without an error; a pre-aborted signal reads nothing', async () => {
  const file = path.join(FIXTURES, 'many_interfaces.pcapng');
  const ac = new AbortController();
  let n = 0;
  const s = await readCapture({ path: file }, () => { if (++n === 5) ac.abort(); }, { signal: ac.signal, highWaterMark: 512 });
  assert.equal(s.aborted, true);
  assert.equal(s.error, null);
  assert.ok(s.frames >= 5 && s.frames < 64, `stopped early (${s.frames})`);
  const pre = await readCapture({ path: file }, () => assert.fail('no frame expected'), { signal: AbortSignal.abort() });
  assert.equal(pre.aborted, true);
  assert.equal(pre.frames, 0);
  const ac2 = new AbortController();
  let m = 0;
  const st = await readCapture({ stream: chunkedStream(readFileSync(file), () => 100), name: 'x' }, () => { if (++m === 3) ac2.abort(); }, { signal: ac2.signal });
  assert.equal(st.aborted, true);
  assert.ok(st.frames < 64);
});

test("path '-' reads standard input", () => {
  const { dir, cleanup } = tempDir();
  try {
    const script = path.join(dir, 'stdin.mts');
    writeFileSync(script, [
      `import { readCapture } from ${JSON.stringify(pathToFileURL(path.join(REPO, 'src/wire/index.ts')).href)};`,
      `let bytes = 0;`,
      `const s = await readCapture({ path: '-' }, (f) => { bytes += f.capLen; });`,
      `process.stdout.write(JSON.stringify({ frames: s.frames, bytes, format: s.format, error: s.error?.message ?? null, totalBytes: s.totalBytes }));`,
    ].join('\n'));
    const input = readFileSync(path.join(FIXTURES, 'nats.pcap'));
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: REPO, input });
    assert.deepEqual(JSON.parse(out.toString()), { frames: 27, bytes: 2460 /* tshark: sum of frame.len */, format: 'pcap', error: null, totalBytes: null });
  } finally {
    cleanup();
  }
});

test('a gzip-compressed capture given by path is read transparently; damage in it is reported, not thrown', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const plain = path.join(FIXTURES, 'http2.pcapng');
    const gz = path.join(dir, 'http2.pcapng.gz');
    const zipped = gzipSync(readFileSync(plain));
    writeFileSync(gz, zipped);
    const a = await collect({ path: plain });
    const b = await collect({ path: gz });
    assert.deepEqual(b.frames, a.frames);
    assert.equal(b.summary.error, null);
    assert.equal(b.summary.bytesRead, zipped.length);
    const cut = path.join(dir, 'cut.pcapng.gz');
    writeFileSync(cut, zipped.subarray(0, Math.floor(zipped.length * 0.6)));
    const c = await collect({ path: cut });
    assert.ok(c.summary.error, 'truncated gzip gives an error');
    assert.match(c.summary.error.message, /cut\.pcapng\.gz: .* at byte offset \d+/);
    assert.deepEqual(c.frames, a.frames.slice(0, c.frames.length));
  } finally {
    cleanup();
  }
});

test('an exception thrown by onFrame propagates unchanged (file and stream sources)', async () => {
  const boom = new Error('boom');
  const file = path.join(FIXTURES, 'nats.pcap');
  await assert.rejects(readCapture({ path: file }, () => { throw boom; }), (e) => e === boom);
  await assert.rejects(readCapture({ stream: chunkedStream(readFileSync(file), () => 5), name: 'x' }, () => { throw boom; }), (e) => e === boom);
});

test('streams of plain Uint8Array chunks are accepted', async () => {
  const file = path.join(FIXTURES, 'http2.pcapng');
  const buf = readFileSync(file);
  const cuts = [0, 100, 1000, buf.length];
  const chunks = cuts.slice(1).map((end, i) => Uint8Array.from(buf.subarray(cuts[i]!, end)));
  const got = await collect({ stream: Readable.from(chunks), name: 'u8' });
  const ref = await collect({ path: file });
  assert.deepEqual(got.frames, ref.frames);
});
