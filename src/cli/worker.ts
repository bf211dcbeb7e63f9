import path from 'node:path';
import { parseArgs } from 'node:util';
import { VeilError } from '../core/errors.ts';
import { RedisJobWorker } from '../service/jobs/redis.ts';
import { defaultConcurrency, DEFAULTS } from '../service/server.ts';
import { positiveInt } from '../service/config.ts';
import { SHIPPED_MODELS_DIR } from './shipped.ts';
import { onStopSignals } from '../core/signals.ts';

const HELP = `usage: veil worker --redis URL [options]

Processes jobs queued by \`veil serve --redis URL\`. Uploads and results live in the data dir, which must be the
same directory (shared storage) the server uses. Run as many workers on as many machines as you like.

      --redis URL          the Redis the server enqueues on (required)
      --prefix P           Redis key prefix (default ${DEFAULTS.redisPrefix})
      --concurrency N      jobs at once, one worker thread each (default ${defaultConcurrency()})
      --data-dir DIR       the shared data dir (default ${DEFAULTS.dataDir})
      --models DIR         model directories to search (repeatable; default: the shipped models/, as for
                           'veil serve'; <data dir>/models, where uploaded models go, is always searched)
      --catalog FILE       your service catalogue, merged over the shipped one (repeatable; checked at start and
                           handed to the job threads, which write the name verdict into every result row)
      --lock-duration MS   job lock lifetime: a dead worker's job is taken over after about this long (default 30000)
      --stalled-interval MS  how often to look for jobs of dead workers (default lock-duration / 2)
      --grace S            on SIGTERM, seconds running jobs may take before going back to the queue (default ${DEFAULTS.graceMs / 1000})
  -q, --quiet              no log lines
`;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      redis: { type: 'string' },
      prefix: { type: 'string' },
      concurrency: { type: 'string' },
      'data-dir': { type: 'string' },
      models: { type: 'string', multiple: true },
      catalog: { type: 'string', multiple: true },
      'lock-duration': { type: 'string' },
      'stalled-interval': { type: 'string' },
      grace: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (v.catalog?.length) (await import('../names/index.ts')).exportCatalogFiles(v.catalog);
  if (!v.redis) throw new VeilError('BAD_ARGUMENT', 'veil worker needs --redis URL (the Redis `veil serve --redis` uses)');
  const log = v.quiet ? () => {} : (m: string) => process.stderr.write(`veil worker[${process.pid}]: ${m}\n`);
  // A stray rejected promise must not take the worker and its running jobs down (they would wait for a stall).
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`veil worker[${process.pid}]: unhandled rejection (the worker goes on): ${reason instanceof Error ? reason.stack ?? reason.message : String(reason)}\n`);
  });
  const dataDir = path.resolve(v['data-dir'] ?? DEFAULTS.dataDir);
  const concurrency = v.concurrency ? positiveInt('concurrency', v.concurrency) : defaultConcurrency();
  const worker = new RedisJobWorker({
    url: v.redis,
    prefix: v.prefix ?? DEFAULTS.redisPrefix,
    dataDir,
    modelDirs: [path.join(dataDir, 'models'), ...(v.models ?? [SHIPPED_MODELS_DIR]).map((d) => path.resolve(d))],
    concurrency,
    ...(v['lock-duration'] ? { lockDurationMs: positiveInt('lock-duration', v['lock-duration']) } : {}),
    ...(v['stalled-interval'] ? { stalledIntervalMs: positiveInt('stalled-interval', v['stalled-interval']) } : {}),
    log,
  });
  worker.start();
  const graceMs = (v.grace ? Number(v.grace) : DEFAULTS.graceMs / 1000) * 1000;
  process.stdout.write(`veil worker: processing ${v.prefix ?? DEFAULTS.redisPrefix} jobs from ${redactUrl(v.redis)} with ${concurrency} thread(s), data in ${dataDir}\n`);
  await new Promise<void>((resolve) => {
    const stop = (sig: NodeJS.Signals): void => {
      log(`${sig}: finishing ${worker.running} running job(s) (up to ${graceMs / 1000} s), taking no new ones`);
      void worker.close(graceMs).then(resolve, (err: unknown) => { log(`shutdown: ${(err as Error).message}`); resolve(); });
    };
    onStopSignals(stop);
  });
  return 0;
}

function redactUrl(u: string): string {
  return u.replace(/\/\/([^@/]*)@/, '//***@');
}
