/**
 * Writes the small captures of test/fixtures/learn/ that the Train page's browser test (test/web/train.test.ts)
 * trains on: TLS connections that send a ClientHello (with the server name, or none: hidden as ECH or a tunnel
 * would hide it), then the server answers in many big segments (streaming) or a few small ones (a call).
 *   node --import tsx scripts/make-learn-fixtures.ts [DIR]     (default: test/fixtures/learn; files NAME.pcap.gz)
 * The same flows as test/helpers/learn-captures.ts draws; the output is byte-for-byte the same on every run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { PcapWriter } from '../src/wire/writer.ts';
import { buildPacket } from '../src/wire/testing.ts';
import { clientHelloBody, ext, handshake, record } from '../test/tls/builder.ts';

/** One TLS connection: its server name ('' sends none, then `pad` bytes of padding extension take its place), the server's answer. */
interface FlowSpec { sni: string; chunks: number; size: number; pad?: number }

/** One capture of `flows` connections from 10.0.0.1 to 10.0.0.2:443, one after the other, starting at `t0` (µs). */
export function learnCapture(flows: readonly FlowSpec[], t0: number): Uint8Array {
  const w = new PcapWriter();
  let t = t0;
  flows.forEach(({ sni, chunks, size, pad }, k) => {
    const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000 + k, dport: 443 };
    const back = { src: c.dst, dst: c.src, sport: c.dport, dport: c.sport };
    const exts = [...(sni ? [ext.sni(sni)] : pad ? [ext.padding(pad)] : []), ext.alpn(['h2']), ext.supportedVersions([0x0304])];
    const hello = record(22, handshake(1, clientHelloBody({ ciphers: [0x1301, 0x1302], extensions: exts })));
    w.writePacket(buildPacket({ ...c, flags: 'S', seq: 100 }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...back, flags: 'SA', seq: 500, ack: 101 }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...c, flags: 'PA', seq: 101, ack: 501, payload: hello }), { tsUs: (t += 1000) });
    let s = 501;
    for (let i = 0; i < chunks; i++) {
      w.writePacket(buildPacket({ ...back, flags: 'PA', seq: s, payload: new Uint8Array(size) }), { tsUs: (t += size > 1000 ? 200 : 20_000) });
      s += size;
    }
    w.writePacket(buildPacket({ ...c, flags: 'R', seq: 101 + hello.length }), { tsUs: (t += 1000) });
  });
  return w.toBuffer();
}

/**
 * File name -> capture. Four "home" captures of 12 named Netflix streams (many big segments) and 12 Zoom calls (a few
 * small ones), sizes and lengths varying as real ones do (the seeded draws of test/helpers/learn-captures.ts
 * homeCaptures, so the flows are the same); `hidden.pcap`: the same behaviour with no server name at all, a padding
 * extension in its place so the ClientHello keeps the size of a named one (a hello of another size is outside the
 * model's training rows and its support guard rightly answers unknown); `nameless.pcap`: nothing named, nothing to
 * label (NO_LABELS).
 */
export function learnFixtures(): Map<string, Uint8Array> {
  let seed = 12345;
  const rnd = (lo: number, hi: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return lo + (seed % (hi - lo + 1)); };
  const stream = (sni: string, pad?: number): FlowSpec => ({ sni, chunks: rnd(9, 16), size: rnd(1150, 1400), pad });
  const call = (sni: string, pad?: number): FlowSpec => ({ sni, chunks: rnd(2, 5), size: rnd(80, 220), pad });
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < 4; i++) {
    out.set(`home-${i}.pcap`, learnCapture([
      ...Array.from({ length: 12 }, () => stream(i % 2 ? 'www.netflix.com' : 'cdn.nflxvideo.net')),
      ...Array.from({ length: 12 }, () => call('us04web.zoom.us')),
    ], 1_700_000_000_000_000 + i * 1e9));
  }
  // The server name extension of a 15-character name holds 20 bytes (list length, type, name length, name).
  const pad = 2 + 1 + 2 + 'us04web.zoom.us'.length;
  out.set('hidden.pcap', learnCapture([stream('', pad), stream('', pad), call('', pad), call('', pad)], 1_700_100_000_000_000));
  out.set('nameless.pcap', learnCapture([stream(''), call('')], 1_700_200_000_000_000));
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.resolve(process.argv[2] ?? fileURLToPath(new URL('../test/fixtures/learn/', import.meta.url)));
  mkdirSync(dir, { recursive: true });
  // Gzipped (the payloads are zeros: 650 KiB of pcap is 17 KiB); uploads and training take gzip as they are.
  for (const [name, bytes] of learnFixtures()) {
    const file = path.join(dir, `${name}.gz`);
    const gz = gzipSync(bytes, { level: 9 });
    writeFileSync(file, gz);
    console.log(`${file}: ${bytes.length} bytes, ${gz.length} gzipped`);
  }
}
