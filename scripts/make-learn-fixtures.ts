/**
 * Writes the small captures of test/fixtures/learn/ that the Train page's browser test (test/web/train.test.ts)
 * trains on: TLS connections that send a ClientHello (with the server name, or none: hidden as ECH or a tunnel
 * would hide it), then the server answers in many big segments (streaming) or a few small ones (a call).
 *   node --import tsx scripts/make-learn-fixtures.ts [DIR]     (default: test/fixtures/learn)
 * The same generator as test/cli/learn.test.ts; the output is byte-for-byte the same on every run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapWriter } from '../src/wire/writer.ts';
import { buildPacket } from '../src/wire/testing.ts';
import { clientHelloBody, ext, handshake, record } from '../test/tls/builder.ts';

interface FlowSpec { sni: string; chunks: number; size: number }

/** One capture of `flows` connections from 10.0.0.1 to 10.0.0.2:443, one after the other, starting at `t0` (µs). */
export function learnCapture(flows: readonly FlowSpec[], t0: number): Uint8Array {
  const w = new PcapWriter();
  let t = t0;
  flows.forEach(({ sni, chunks, size }, k) => {
    const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000 + k, dport: 443 };
    const back = { src: c.dst, dst: c.src, sport: c.dport, dport: c.sport };
    const exts = [...(sni ? [ext.sni(sni)] : []), ext.alpn(['h2']), ext.supportedVersions([0x0304])];
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

const stream = (sni: string): FlowSpec => ({ sni, chunks: 12, size: 1400 });
const call = (sni: string): FlowSpec => ({ sni, chunks: 3, size: 120 });

/** File name -> capture: 4 "home" captures with named flows, one with the same behaviour and every name hidden, one where nothing is named. */
export function learnFixtures(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < 4; i++) {
    out.set(`home-${i}.pcap`, learnCapture([
      ...Array.from({ length: 5 }, () => stream(i % 2 ? 'www.netflix.com' : 'cdn.nflxvideo.net')),
      ...Array.from({ length: 5 }, () => call('us04web.zoom.us')),
    ], 1_700_000_000_000_000 + i * 1e9));
  }
  out.set('hidden.pcap', learnCapture([stream(''), stream(''), call(''), call('')], 1_700_100_000_000_000));
  out.set('nameless.pcap', learnCapture([stream(''), call('')], 1_700_200_000_000_000));
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.resolve(process.argv[2] ?? fileURLToPath(new URL('../test/fixtures/learn/', import.meta.url)));
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of learnFixtures()) {
    writeFileSync(path.join(dir, name), bytes);
    console.log(`${path.join(dir, name)}: ${bytes.length} bytes`);
  }
}
