/**
 * Writes what `veil extract` (CSV and JSONL), `veil classify` and `veil predict` (the shipped category model) make of
 * every capture of ../shared/data/ndpi/pcap into one folder, so a refactor can be checked byte for byte:
 *
 *   node --import tsx bench/ndpi-snapshot.ts /tmp/before && (change code) && node --import tsx bench/ndpi-snapshot.ts /tmp/after
 *   diff -r /tmp/before /tmp/after
 *
 * Runs the commands in-process (one module load), one capture after another; stderr lines go to OUT/stderr.txt.
 */
import { mkdirSync, readdirSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const out = process.argv[2];
const only = process.argv[3]; // optional: extract | classify | predict
if (!out) { process.stderr.write('usage: bench/ndpi-snapshot.ts OUT_DIR [extract|classify|predict]\n'); process.exit(2); }
const dir = path.resolve(import.meta.dirname, '../../shared/data/ndpi/pcap');
const alt = '/work/shared/data/ndpi/pcap';
const src = existsSync(dir) ? dir : alt;
if (!existsSync(src)) { process.stderr.write(`no captures at ${src}\n`); process.exit(0); }
mkdirSync(out, { recursive: true });
const extract = await import('../src/cli/extract.ts');
const classify = await import('../src/cli/classify.ts');
const predict = await import('../src/cli/predict.ts');
const model = path.resolve(import.meta.dirname, '../models/category.veilmodel');
const log = path.join(out, 'stderr.txt');
writeFileSync(log, '');
const write = process.stderr.write.bind(process.stderr);
const files = readdirSync(src).filter((f) => /\.(pcap|pcapng|cap)$/i.test(f)).sort();
let n = 0;
for (const f of files) {
  const p = path.join(src, f);
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => { appendFileSync(log, s); return true; };
  const codes: number[] = [];
  try {
    if (!only || only === 'extract') {
      codes.push(await extract.run([p, '-q', '-o', path.join(out, `${f}.extract.csv`)]));
      codes.push(await extract.run([p, '-q', '-o', path.join(out, `${f}.extract.jsonl`)]));
    }
    if (!only || only === 'classify') codes.push(await classify.run([p, '--quiet', '-o', path.join(out, `${f}.classify.csv`)]));
    if (!only || only === 'predict') codes.push(await predict.run([model, p, '-q', '-o', path.join(out, `${f}.predict.csv`)]));
  } catch (e) {
    appendFileSync(log, `${f}: threw ${(e as Error).message}\n`);
  }
  (process.stderr as unknown as { write: typeof write }).write = write;
  appendFileSync(log, `${f}: exit ${codes.join(',')}\n`);
  if (++n % 50 === 0) write(`${n}/${files.length}\n`);
}
write(`${n} captures -> ${out}\n`);
