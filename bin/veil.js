#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx (no build step) in a child Node with a larger young
// generation: the meter keeps flow state alive across many scavenges, and a 64 MiB semi-space halves its GC time.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');
// The IPC channel ties the child's life to ours: if this wrapper is killed (SIGKILL cannot be forwarded), the
// channel closes and the child exits instead of serving on as an orphan (src/cli/main.ts).
const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', tsx, main, ...process.argv.slice(2)], {
  stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
