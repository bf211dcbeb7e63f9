#!/usr/bin/env node
// Entry point: runs the CLI in a child Node with a larger young generation (the meter keeps flow state alive
// across many scavenges, and a 64 MiB semi-space halves its GC time). The child runs dist/cli/main.js, built from
// src/ at install (`npm ci` runs scripts/build.mjs through `prepare`): plain JavaScript starts in ~0.1 CPU-s where
// loading the TypeScript through tsx costs ~0.8. When dist/ is missing or older than any file under src/ (an edited
// checkout), or VEIL_FROM_SOURCE=1, the child runs src/cli/main.ts through tsx instead, so it never runs stale code.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));

/** The newest mtime and the number of files under dir (a ~200-file walk: a few milliseconds). */
function sourceState(dir) {
  let newest = 0, files = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    files++;
    const t = statSync(`${e.parentPath ?? e.path}/${e.name}`).mtimeMs;
    if (t > newest) newest = t;
  }
  return { newest, files };
}

function builtIsCurrent() {
  if (process.env.VEIL_FROM_SOURCE === '1') return false;
  try {
    const b = JSON.parse(readFileSync(new URL('../dist/BUILD.json', import.meta.url), 'utf8'));
    const s = sourceState(src);
    return s.files === b.files && s.newest <= b.newestSourceMtimeMs;
  } catch {
    return false;
  }
}

const args = builtIsCurrent()
  ? [fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))]
  : ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))];
// The IPC channel ties the child's life to ours: if this wrapper is killed (SIGKILL cannot be forwarded), the
// channel closes and the child exits instead of serving on as an orphan (src/cli/main.ts).
const child = spawn(process.execPath, ['--max-semi-space-size=64', ...args, ...process.argv.slice(2)], {
  stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
