import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveStore, type StoredLiveRecord } from '../../src/service/live/store.ts';
import { tempDir } from '../service/helpers.ts';

function rec(kind: 'early' | 'final', key: string, receivedAt: number): StoredLiveRecord {
  return {
    kind, key, seq: 0, source: 'live-1', receivedAt, src: '10.0.0.1', sport: 1000, dst: '10.0.0.2', dport: 443, proto: 6, firstTs: 1, lastTs: 2,
    packets: kind === 'early' ? 10 : 40, bytes: 100, endReason: kind === 'early' ? 'packets' : 'fin', name: 'x.example', alpn: 'h2', ja4: '',
    app: '', appSource: 'none', category: 'browsing', categorySource: 'sni', categoryConfidence: 0.95, models: [],
  };
}

test('live store: records newest first, by kind and by flow key; the retention sweep deletes what is older than it', () => {
  const t = tempDir('veil-live-store-');
  try {
    const hour = 3600_000, now = Date.now();
    const s = new LiveStore(t.dir, hour);
    s.add([rec('early', 'a', now - 2 * hour), rec('final', 'a', now - 2 * hour + 5000), rec('early', 'b', now - 1000), rec('final', 'b', now)]);
    assert.deepEqual(s.recent({ limit: 10 }).map((r) => `${r.kind}:${r.key}`), ['final:b', 'early:b', 'final:a', 'early:a']);
    assert.deepEqual(s.recent({ limit: 10, kind: 'early' }).map((r) => r.key), ['b', 'a']);
    assert.deepEqual(s.recent({ limit: 10, key: 'a' }).map((r) => r.kind), ['final', 'early']);
    assert.equal(s.recent({ limit: 1 })[0]!.packets, 40);
    assert.equal(s.sweep(now), 2, 'the two records of flow a are past the hour');
    assert.deepEqual(s.recent({ limit: 10 }).map((r) => r.key), ['b', 'b']);
    s.close();
    // Records survive a restart of the server (same data dir).
    const again = new LiveStore(t.dir, hour);
    assert.equal(again.count(), 2);
    again.close();
  } finally {
    t.cleanup();
  }
});
