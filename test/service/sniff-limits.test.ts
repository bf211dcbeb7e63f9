import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { inflateHead, sniffInput, SNIFF_BYTES } from '../../src/service/sniff.ts';

/** The sniffer looks through gzip with a bounded output, so a small upload cannot make the API thread inflate megabytes. */

/** A 64 KiB gzip head whose inflated text is one header line of tens of MiB. */
function bombHead(): Buffer {
  const gz = gzipSync(Buffer.concat([Buffer.from('a,b,'), Buffer.alloc(100 << 20, 0x63)]), { level: 9 });
  return gz.subarray(0, Math.min(gz.length, SNIFF_BYTES));
}

test('sniff: a gzip head inflating to tens of MiB yields at most SNIFF_BYTES of text', () => {
  const head = bombHead();
  const text = inflateHead(head);
  assert.ok(text !== null);
  assert.ok(text.length > 0 && text.length <= SNIFF_BYTES, `inflated ${text.length} bytes`);
  assert.equal(text.subarray(0, 4).toString(), 'a,b,');
});

test('sniff: a gzip bomb head is still judged by its first bytes (CSV)', () => {
  assert.deepEqual(sniffInput(bombHead()), { kind: 'table', format: 'csv', gzip: true });
});

test('sniff: an ordinary gzip head inflates whole when it fits, a truncated one as far as it goes', () => {
  const plain = Buffer.from('id,x\n1,2\n3,4\n');
  assert.deepEqual(inflateHead(gzipSync(plain)), plain);
  const gz = gzipSync(Buffer.from('id,x\n' + '1,2\n'.repeat(10_000)));
  const part = inflateHead(gz.subarray(0, 200));
  assert.ok(part && part.toString().startsWith('id,x\n1,2\n'));
  assert.equal(inflateHead(Buffer.from([0x1f, 0x8b, 0, 0])), null);
});
