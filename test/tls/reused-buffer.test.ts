// The capture reader hands out packet payloads as views into buffers it reuses for the next read. Anything kept
// past a packet must be a copy: Buffer#slice is a view, not a copy. These tests keep state from a Node Buffer,
// scribble over the buffer as the reader would, and check the kept bytes did not change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientHello, parseServerHello } from '../../src/tls/hello.ts';
import { TcpReassembler } from '../../src/tls/tcp-reassembly.ts';
import { CryptoReassembler } from '../../src/quic/crypto-stream.ts';
import { deriveInitialKeys } from '../../src/quic/keys.ts';
import { clientHelloBody, serverHelloBody, ext } from './builder.ts';

/** The bytes in a Node Buffer, as the reader delivers them. */
function reused(bytes: Uint8Array): Buffer {
  const b = Buffer.alloc(bytes.length + 16);
  b.set(bytes, 8);
  return b.subarray(8, 8 + bytes.length);
}

test('ClientHello and ServerHello session ids survive the reader reusing its buffer', () => {
  const sid = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
  const ch = reused(clientHelloBody({ sessionId: sid, ciphers: [0x1301], extensions: [ext.sni('a.example')] }));
  const sh = reused(serverHelloBody({ sessionId: sid, cipher: 0x1301 }));
  const c = parseClientHello(ch);
  const s = parseServerHello(sh);
  ch.fill(0xee);
  sh.fill(0xee);
  assert.deepEqual([...c.sessionId], [...sid]);
  assert.deepEqual([...s.sessionId], [...sid]);
});

test('TCP reassembly keeps its own copy of an out-of-order segment', () => {
  const out: number[] = [];
  const r = new TcpReassembler(1 << 16, { push: (d) => out.push(...d) });
  const late = reused(Uint8Array.from([4, 5, 6]));
  r.push(1000, true, new Uint8Array(0)); // SYN: the stream starts at 1001
  r.push(1004, false, late); // arrives before bytes 1001..1003
  late.fill(0xee);
  r.push(1001, false, reused(Uint8Array.from([1, 2, 3])));
  assert.deepEqual(out, [1, 2, 3, 4, 5, 6]);
});

test('QUIC CRYPTO reassembly keeps its own copy of a frame beyond a hole', () => {
  const out: number[] = [];
  const r = new CryptoReassembler(1 << 16, (d) => out.push(...d));
  const late = reused(Uint8Array.from([4, 5, 6]));
  r.push(3, late);
  late.fill(0xee);
  r.push(0, reused(Uint8Array.from([1, 2, 3])));
  assert.deepEqual(out, [1, 2, 3, 4, 5, 6]);
});

test('QUIC Initial keys keep their own copy of the DCID', () => {
  const dcid = reused(Uint8Array.from([0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08]));
  const keys = deriveInitialKeys(1, dcid);
  assert.ok(keys);
  dcid.fill(0);
  assert.deepEqual([...keys.dcid], [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08]);
});
