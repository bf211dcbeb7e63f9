#!/usr/bin/env node
// Builds src/ into dist/ once (run by `npm ci` through the `prepare` script, or by `npm run build`), so that
// bin/veil.js starts plain JavaScript instead of loading TypeScript through tsx at every run (~0.8 CPU-s).
// Every .ts file becomes one .js file at the same place under dist/ (same folder depth, so the relative URLs the
// code builds from import.meta.url, such as ../../models/ and ../../web/, still point at the same places); the
// other files (catalogue JSON, worker .mjs entries) are copied, their `./x.ts` imports turned into `./x.js`.
// dist/BUILD.json records the newest source mtime: bin/veil.js runs from src/ through tsx when src/ is newer.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const src = path.join(root, 'src');
// usage: node scripts/build.mjs [OUT]  (OUT: a folder name directly under the project root, default dist; the
// build test uses another so that it never races a real build)
const outName = process.argv[2] ?? 'dist';
if (!/^[\w.-]+$/.test(outName)) throw new Error(`build: OUT must be a folder name under the project root, got '${outName}'`);
const dist = path.join(root, outName);
const tmp = path.join(root, `${outName}.tmp-${process.pid}`);

if (!existsSync(src)) {
  // A Docker layer that installs dependencies before copying the sources (see Dockerfile).
  process.stdout.write('veil: no src/ here yet: build skipped\n');
  process.exit(0);
}

/** Every file under dir, relative paths. */
function walk(dir, rel = '') {
  const out = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...walk(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

const files = walk(src);
const tsFiles = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
const newest = Math.max(...files.map((f) => statSync(path.join(src, f)).mtimeMs));

rmSync(tmp, { recursive: true, force: true });
await build({
  entryPoints: tsFiles.map((f) => path.join(src, f)),
  outdir: tmp,
  outbase: src,
  bundle: true, // with every import external (below): one output per source file, imports rewritten
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  plugins: [{
    name: 'ts-to-js',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (a) => (a.kind === 'entry-point' ? undefined
        : { path: a.path.replace(/\.ts$/, '.js'), external: true }));
    },
  }],
});
for (const f of files) {
  if (f.endsWith('.ts')) continue;
  const to = path.join(tmp, f);
  mkdirSync(path.dirname(to), { recursive: true });
  if (f.endsWith('.mjs')) {
    writeFileSync(to, readFileSync(path.join(src, f), 'utf8').replace(/(['"]\.\.?\/[^'"]*)\.ts(['"])/g, '$1.js$2'));
  } else cpSync(path.join(src, f), to);
}
writeFileSync(path.join(tmp, 'BUILD.json'), JSON.stringify({ newestSourceMtimeMs: newest, files: files.length }) + '\n');
rmSync(dist, { recursive: true, force: true });
renameSync(tmp, dist);
process.stdout.write(`veil: built ${tsFiles.length} modules into ${outName}/\n`);
