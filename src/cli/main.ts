/**
 * `veil` command dispatcher. Each command lives in its own file exporting `run(argv): Promise<number>` (exit code)
 * and is imported only when called, so `veil extract` does not load the model or service code.
 */
type Command = { describe: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

const commands: Record<string, Command> = {
  extract: { describe: 'read captures, write flows with features (CSV, JSONL, Parquet)', load: () => import('./extract.ts') },
  features: { describe: 'print the reference of every output column', load: () => import('./features.ts') },
  services: { describe: 'the service catalogue: reference page, checks, name matching', load: () => import('./services.ts') },
  train: { describe: 'train a classifier on a flow table', load: () => import('./train.ts') },
  evaluate: { describe: 'evaluate a model on labelled flows, write a report', load: () => import('./evaluate.ts') },
  predict: { describe: 'apply a model to flows or a capture', load: () => import('./predict.ts') },
  classify: { describe: 'extract and classify a capture or live interface in one step', load: () => import('./classify.ts') },
  dataset: { describe: 'build labelled flow tables from captures', load: () => import('./dataset.ts') },
  learn: { describe: 'teach Veil your network: label captures by their names, learn their behaviour', load: () => import('./learn.ts') },
  serve: { describe: 'run the HTTP API and web UI', load: () => import('./serve.ts') },
  worker: { describe: 'process queued jobs from Redis', load: () => import('./worker.ts') },
};

function usage(): string {
  const rows = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.describe}`);
  return `usage: veil <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nveil <command> --help for a command's options; veil --version\n`;
}

/**
 * Started by bin/veil.js with an IPC channel: when the wrapper dies without passing a signal on (SIGKILL), the
 * channel closes and this process goes too, so no orphan keeps serving on the port with the data dir locked.
 */
async function dieWithWrapper(command: string | undefined): Promise<void> {
  if (!process.channel) return;
  process.channel.unref();
  process.on('disconnect', () => {
    process.stderr.write('veil: the bin/veil.js wrapper is gone; exiting\n');
    process.exit(137);
  });
  // The 'disconnect' handler needs this thread's event loop; a watchdog thread also notices a blocked one
  // (re-parented: our parent pid changed) and kills the process. Only the long-lived commands get it: a thread costs
  // ~0.08 CPU-s to start, most of a short command's start-up, and the others return to their event loop often.
  if (command !== 'serve' && command !== 'worker') return;
  const { Worker } = await import('node:worker_threads');
  const dog = new Worker(
    "const { workerData } = require('node:worker_threads');" +
    "setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 500);",
    { eval: true, workerData: process.ppid, execArgv: [], stdout: false, stderr: false },
  );
  dog.unref();
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  await dieWithWrapper(name);
  if (name === '--version' || name === '-V' || name === 'version') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`veil ${pkg.version} (node ${process.versions.node})\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`veil: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  let mod: { run(argv: string[]): Promise<number> };
  try {
    mod = await cmd.load();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && new RegExp(`/cli/${name}\\.[tj]s'`).test(e.message)) {
      process.stderr.write(`veil: command '${name}' is not available in this build\n`);
      return 2;
    }
    throw err;
  }
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    // Errors that carry a user-facing message (bad input) print it alone; anything else is a bug: show the stack.
    const e = err as Error & { userFacing?: boolean };
    if (e && e.userFacing) process.stderr.write(`veil: ${e.message}\n`);
    else process.stderr.write(`veil: internal error: ${e?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
