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
import { homeFlows, learnCapture, seededFlows } from '../test/helpers/learn-captures.ts';

/**
 * File name -> capture. Four "home" captures of 12 named Netflix streams (many big segments) and 12 Zoom calls (a few
 * small ones), sizes and lengths varying as real ones do (the seeded draws of test/helpers/learn-captures.ts
 * homeCaptures, so the flows are the same); `hidden.pcap`: the same behaviour with no server name at all, a padding
 * extension in its place so the ClientHello keeps the size of a named one (a hello of another size is outside the
 * model's training rows and its support guard rightly answers unknown); `nameless.pcap`: nothing named, nothing to
 * label (NO_LABELS).
 */
export function learnFixtures(): Map<string, Uint8Array> {
  const { stream, call } = seededFlows();
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < 4; i++) out.set(`home-${i}.pcap`, learnCapture(homeFlows(i, stream, call), 1_700_000_000_000_000 + i * 1e9));
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
