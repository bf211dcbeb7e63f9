/**
 * Per-flow cost of the handshake tracker on fixed handshakes (CPU time, robust to a busy machine):
 * TLS 1.3 over TCP, TLS 1.2 with a certificate, the RFC 9001 QUIC client + server Initials.
 *
 *   node --import tsx bench/tls-micro.ts
 */
import { readFileSync } from 'node:fs';
import { createHandshakeTracker } from '../src/tls/index.ts';
import {
  cat, certificateBody, chromeLikeHello, clientHelloBody, fill, handshake, hex, record, sext, serverHelloBody, u8,
} from '../test/tls/builder.ts';
import { V1 } from '../test/quic/vectors.ts';

const leaf = new Uint8Array(readFileSync(new URL('../test/fixtures/tls/leaf.der', import.meta.url)));
const ch = record(22, handshake(1, clientHelloBody(chromeLikeHello())));
const sh13 = cat(record(22, handshake(2, serverHelloBody({ cipher: 0x1301, extensions: [sext.supportedVersion(0x0304), sext.keyShare(0x1d)] })), 0x0303),
  record(20, u8(1), 0x0303), record(23, fill(1000, 7), 0x0303));
const flight12 = record(22, cat(handshake(2, serverHelloBody({ cipher: 0xc02f })), handshake(11, certificateBody([leaf, leaf])),
  handshake(12, fill(300, 1)), handshake(14, new Uint8Array(0))), 0x0303);
const qc = hex(V1.clientInitial);
const qs = hex(V1.serverInitial);

function cpuUs(fn: () => void, n: number): number {
  for (let i = 0; i < Math.min(n, 500); i++) fn();
  const a = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const b = process.cpuUsage(a);
  return (b.user + b.system) / n;
}

const cases: [string, () => void][] = [
  ['TLS 1.3 / TCP (CH 1 segment, SH+CCS+appdata)', () => {
    const t = createHandshakeTracker();
    t.onTcp(0, 1000, false, ch, 0);
    t.onTcp(1, 9000, false, sh13, 1);
    t.result();
  }],
  ['TLS 1.3 / TCP, ClientHello in 3 segments', () => {
    const t = createHandshakeTracker();
    t.onTcp(0, 1000, false, ch.subarray(0, 100), 0);
    t.onTcp(0, 1100, false, ch.subarray(100, 300), 0);
    t.onTcp(0, 1300, false, ch.subarray(300), 0);
    t.onTcp(1, 9000, false, sh13, 1);
    t.result();
  }],
  ['TLS 1.2 / TCP with certificate chain', () => {
    const t = createHandshakeTracker();
    t.onTcp(0, 1000, false, ch, 0);
    t.onTcp(1, 9000, false, flight12, 1);
    t.result();
  }],
  ['QUIC v1 (RFC 9001 client + server Initial)', () => {
    const t = createHandshakeTracker();
    t.onUdp(0, qc, 0);
    t.onUdp(1, qs, 1);
    t.result();
  }],
];
for (const [, fn] of cases) cpuUs(fn, 2000); // warm every path before timing any
for (const [name, fn] of cases) console.log(`${name}: ${cpuUs(fn, 5000).toFixed(1)} us CPU per flow`);
