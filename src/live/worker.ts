// A live worker: meters one shard of a live capture whose bytes the reading thread shares through a chunk ring,
// classifies its flows (early and final verdicts) and posts the records back.
import { parentPort, workerData } from 'node:worker_threads';
import { CaptureFeed } from '../wire/reader.ts';
import { ChunkConsumer } from '../flow/chunk-ring.ts';
import { loadModel } from '../model/index.ts';
import { loadCatalog } from '../names/index.ts';
import { earlyCutOf, FlowClassifier, LiveMeter, type AppliedModel, type LiveRecord } from './classifier.ts';
import type { LiveWorkerMessage, LiveWorkerSetup, WorkerCounters } from './source.ts';

const setup = workerData as LiveWorkerSetup;
const port = parentPort!;
const post = (m: LiveWorkerMessage): void => port.postMessage(m);

try {
  const catalog = loadCatalog(setup.catalogFiles);
  const all: AppliedModel[] = [];
  for (const m of setup.models) all.push({ column: m.column, model: await loadModel(m.file) });
  const early = setup.early;
  // Early verdicts use the models trained on flows cut at the same packet; final verdicts the full-flow ones.
  const finalModels = all.filter((m) => earlyCutOf(m.model) === 0);
  const earlyModels = all.filter((m) => earlyCutOf(m.model) === early && early > 0);
  const classifiers = { final: new FlowClassifier('final', finalModels, catalog), early: new FlowClassifier('early', earlyModels, catalog) };
  const counters: WorkerCounters = { packets: 0, metered: 0, flows: 0, openFlows: 0, early: 0, final: 0 };
  const lm = new LiveMeter({
    meter: { captureName: setup.name, ...setup.meter, shard: setup.shard },
    early,
    onRows: (kind, rows, columns) => {
      let records: LiveRecord[];
      try {
        records = classifiers[kind].classify(rows, columns);
      } catch (err) {
        post({ kind: 'error', message: `classifying ${rows.length} ${kind} flow(s): ${(err as Error).message}` });
        return;
      }
      counters[kind] += records.length;
      post({ kind: 'records', records });
    },
  });
  const snapshot = (): WorkerCounters => {
    const s = lm.full.stats;
    counters.packets = s.packets;
    counters.metered = s.metered;
    counters.flows = s.flows;
    counters.openFlows = lm.full.liveFlows;
    return { ...counters };
  };
  const feed = new CaptureFeed(setup.name, (f) => lm.frame(f));
  const chunks = new ChunkConsumer(setup.ring);
  post({ kind: 'ready' });
  let last = Date.now();
  let damaged = false;
  while (chunks.take((buf, len) => { if (!damaged && len > 0 && !feed.feed(buf, len)) damaged = true; })) {
    const now = Date.now();
    if (now - last >= 1000) {
      last = now;
      lm.tick(now * 1000);
      lm.flush();
      post({ kind: 'counters', counters: snapshot() });
    }
  }
  const summary = feed.end(null);
  lm.end();
  if (summary.error && summary.error.code !== 'TRUNCATED') post({ kind: 'error', message: summary.error.message });
  post({ kind: 'done', counters: snapshot() });
} catch (err) {
  post({ kind: 'error', message: (err as Error).message });
}
