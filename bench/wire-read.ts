/**
 * Wire-layer throughput: reads a capture through readCapture + decodePacket and prints frames, seconds and
 * packets per CPU-second (user + system time of this process, as the anchors in ../shared/bench are measured).
 *
 * usage: node --import tsx bench/wire-read.ts CAPTURE [--read-only] [--runs N]
 */
import { decodePacket, decodeStatusName, newPacketInfo, readCapture } from '../src/wire/index.ts';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const path = args.find((a) => !a.startsWith('--'));
  if (!path) {
    process.stderr.write('usage: node --import tsx bench/wire-read.ts CAPTURE [--read-only] [--runs N]\n');
    process.exitCode = 2;
    return;
  }
  const readOnly = args.includes('--read-only');
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1] ?? 1) : 1;
  const info = newPacketInfo();
  for (let r = 0; r < runs; r++) {
    const counts = new Float64Array(16);
    let bytes = 0;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const summary = await readCapture({ path }, readOnly
      ? (f) => { bytes += f.capLen; }
      : (f) => { counts[decodePacket(f, info)]!++; });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const cpuSec = (cpu.user + cpu.system) / 1e6;
    const statuses = [...counts].map((n, s) => (n ? `${decodeStatusName(s)}=${n}` : '')).filter(Boolean).join(' ');
    process.stdout.write(
      `${readOnly ? 'read' : 'read+decode'}: ${summary.frames} frames, ${wall.toFixed(3)} s wall, ${cpuSec.toFixed(3)} s CPU ` +
      `(user ${(cpu.user / 1e6).toFixed(3)}, sys ${(cpu.system / 1e6).toFixed(3)}), ` +
      `${(summary.frames / cpuSec / 1e6).toFixed(2)} M packets per CPU-second, ${(summary.frames / wall / 1e6).toFixed(2)} M/s wall` +
      `${readOnly ? ` (${bytes} bytes)` : `; ${statuses}`}${summary.error ? `; error: ${summary.error.message}` : ''}\n`,
    );
  }
}

void main();
