// What one `veil extract` pays once per process: meters captures one after the other in a single process, each
// written to CSV as extract writes it, and prints the CPU-seconds (user + system, every thread: V8 compiles and
// collects on threads of its own) of each run. The first run of a capture pays the JIT's warm-up (TurboFan compiles
// of the hot path, recompiles after deoptimisations) and the heap's growth; a later run of the same or of another
// capture shows the steady state. The difference is a fixed cost of every invocation, which packets per CPU-second
// on a short capture include.
//
// usage: node --max-semi-space-size=64 --import tsx bench/extract-warmup.ts CAPTURE [CAPTURE...]
//        (e.g. WARM.pcap BIG.pcap BIG.pcap: the first run of BIG after warming on WARM, then BIG again)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractFlows } from '../src/flow/meter.ts';
import { openWriter, type RowWriter } from '../src/flow/output.ts';

const caps = process.argv.slice(2);
if (caps.length === 0) {
  process.stderr.write('usage: bench/extract-warmup.ts CAPTURE [CAPTURE...]\n');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'veil-warmup-'));
try {
  for (const [i, cap] of caps.entries()) {
    const t0 = process.cpuUsage();
    const w0 = performance.now();
    let writer: RowWriter | null = null;
    const s = await extractFlows({ path: cap }, { reuseRow: true }, (row, columns) => {
      writer ??= openWriter(join(dir, 'out.csv'), 'csv', columns);
      writer.write(row);
    });
    if (writer) await (writer as RowWriter).close();
    const u = process.cpuUsage(t0);
    const cpu = (u.user + u.system) / 1e6;
    console.log(`run ${i + 1} ${cap}: ${s.packets} packets, ${s.flows} flows, ${cpu.toFixed(2)} CPU-s ` +
      `(user ${(u.user / 1e6).toFixed(2)}, system ${(u.system / 1e6).toFixed(2)}), ${((performance.now() - w0) / 1000).toFixed(2)} s wall, ` +
      `${(s.packets / cpu / 1e6).toFixed(2)} M packets per CPU-s`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
