// What a live worker costs on one thread, without the capture: the real-traffic mix read from its file through the
// full meter alone, the live meter (full + cut meter, early at 10 packets), and the live meter with the verdicts
// (names + the shipped category and vpn models). Prints packets per second of each and the ratio to the meter alone.
//   node --import tsx bench/live-meter.ts [PCAP]   (default /work/bench-data-live/mix4.pcap: bench/live-rate.ts builds it)
import { existsSync } from 'node:fs';
import { readCapture } from '../src/wire/reader.ts';
import { Meter } from '../src/flow/meter.ts';
import { LiveMeter, FlowClassifier } from '../src/live/classifier.ts';
import { loadModel } from '../src/model/index.ts';
import { loadCatalog } from '../src/names/index.ts';

const file = process.argv[2] ?? '/work/bench-data-live/mix4.pcap';
if (!existsSync(file)) { console.log(`live-meter: ${file} is absent (bench/live-rate.ts builds it): skipped`); process.exit(0); }
const meter = { table: { idleTimeoutUs: 15e6, activeTimeoutUs: 120e6 } };
const catalog = loadCatalog([]);
const models = [{ column: 'category', model: await loadModel(new URL('../models/category.veilmodel', import.meta.url).pathname) },
  { column: 'vpn', model: await loadModel(new URL('../models/vpn.veilmodel', import.meta.url).pathname) }];
let base = 0;
for (const mode of ['meter alone', 'live meter, early at 10', 'live meter + verdicts (2 models)']) {
  const t0 = performance.now();
  let packets = 0, rows = 0;
  if (mode === 'meter alone') {
    const m = new Meter(meter, () => { rows++; });
    await readCapture({ path: file }, (f) => m.frame(f));
    packets = m.end().packets;
  } else {
    const fc = { final: new FlowClassifier('final', mode.includes('verdicts') ? models : [], catalog), early: new FlowClassifier('early', [], catalog) };
    const lm = new LiveMeter({ meter, early: 10, onRows: (k, rs, cols) => { rows += mode.includes('verdicts') ? fc[k].classify(rs, cols).length : rs.length; } });
    await readCapture({ path: file }, (f) => lm.frame(f));
    packets = lm.end().packets;
  }
  const pps = packets / ((performance.now() - t0) / 1000);
  if (!base) base = pps;
  console.log(`${mode.padEnd(34)} ${Math.round(pps).toString().padStart(8)} packets/s  ${(pps / base).toFixed(2)}x  (${rows} rows)`);
}
