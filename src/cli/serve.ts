import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { VeilError } from '../core/errors.ts';
import { keysFrom } from '../service/api/auth.ts';
import { defaultConcurrency, DEFAULTS, startServer } from '../service/server.ts';
import { parseSize, positiveInt } from '../service/config.ts';
import { SHIPPED_MODELS_DIR } from './shipped.ts';

const HELP = `usage: veil serve [options]

Runs the HTTP API (/api/v1, OpenAPI at /docs, Prometheus at /metrics) and the web UI (/).
Without --redis, jobs run in this process (embedded queue, SQLite under --data-dir; a restart resumes them).
With --redis, jobs go to BullMQ and \`veil worker --redis URL --data-dir DIR\` processes run them (same data dir).

      --port N             port (default ${DEFAULTS.port}; 0 picks a free one)
      --host H             address to listen on (default ${DEFAULTS.host}); beyond loopback API keys are required
      --data-dir DIR       jobs database, uploads, results, uploaded models (default ${DEFAULTS.dataDir})
      --models DIR         directory of trained models to load (repeatable; default: the shipped models/,
                           category and vpn); all are applied by default
      --catalog FILE       your service catalogue, merged over the shipped one (repeatable; checked at start and
                           handed to the job threads, which write the name verdict into every result row)
      --redis URL          use BullMQ on this Redis (redis://host:port/db) instead of the embedded queue
      --prefix P           Redis key prefix (default ${DEFAULTS.redisPrefix})
      --api-key KEY        accept this bearer token (repeatable; also VEIL_API_KEYS, comma-separated)
      --rate-limit N[/B]   requests per second per API key, burst B (default ${DEFAULTS.rateLimit.perSecond}/${DEFAULTS.rateLimit.burst}; 0 = off)
      --max-upload SIZE    largest upload, e.g. 500M, 2G (default 1G)
      --max-inflated SIZE  most bytes a gzip upload may inflate to (default 8G)
      --job-timeout S      seconds one job run may take before it fails (default 7200; 0 = none)
      --allowed-host NAME  a key-less server answers only to loopback names and --host; add names (repeatable);
                           browser writes whose Origin is one of them are accepted (a reverse proxy's name)
      --trust-proxy        behind a reverse proxy on this host: client addresses from X-Forwarded-For (the
                           wrong-key limit counts per client, not all of loopback as one)
      --retention-hours H  delete finished jobs and their results after H hours (default ${DEFAULTS.retentionHours})
      --concurrency N      embedded queue: jobs run at once, one worker thread each (default ${defaultConcurrency()})
      --classify-threads N worker threads for POST /classify (default 1)
      --grace S            on SIGTERM, seconds running jobs may take before going back to the queue (default ${DEFAULTS.graceMs / 1000})
  live monitoring (the dashboard at /live.html; API under /api/v1/live):
  -i, --interface IFACE    capture and classify IFACE from the start (repeatable; tcpdump or dumpcap, as root or
                           with the capture capabilities); more sources can be started through the API
      --filter BPF         capture filter for --interface
      --live-workers N     worker threads per live source, flows sharded by endpoint hash (default 1)
      --early N            give each live flow an early verdict at its N-th packet (models trained with
                           'veil train --early N' beside the others), then its final one when it ends (default 10; 0: off)
      --early-model FILE   a model trained with 'veil train --early N' for the early verdicts (repeatable; default:
                           models/early/ of this package); never applied to jobs
      --live-retention-hours H  keep live records H hours (default 24)
      --admin-key KEY      a key that may also start and stop live sources (repeatable; also VEIL_ADMIN_KEYS)
  -q, --quiet              no log lines
`;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      models: { type: 'string', multiple: true },
      catalog: { type: 'string', multiple: true },
      redis: { type: 'string' },
      prefix: { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      'rate-limit': { type: 'string' },
      'max-upload': { type: 'string' },
      'max-inflated': { type: 'string' },
      'job-timeout': { type: 'string' },
      'allowed-host': { type: 'string', multiple: true },
      'trust-proxy': { type: 'boolean' },
      'retention-hours': { type: 'string' },
      concurrency: { type: 'string' },
      'classify-threads': { type: 'string' },
      grace: { type: 'string' },
      interface: { type: 'string', short: 'i', multiple: true },
      filter: { type: 'string' },
      'live-workers': { type: 'string' },
      early: { type: 'string' },
      'live-retention-hours': { type: 'string' },
      'early-model': { type: 'string', multiple: true },
      'admin-key': { type: 'string', multiple: true },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (v.catalog?.length) (await import('../names/index.ts')).exportCatalogFiles(v.catalog);
  const log = v.quiet ? () => {} : (m: string) => process.stderr.write(`veil serve: ${m}\n`);
  const rl = (v['rate-limit'] ?? `${DEFAULTS.rateLimit.perSecond}/${DEFAULTS.rateLimit.burst}`).split('/');
  const perSecond = Number(rl[0]);
  const burst = rl[1] !== undefined ? Number(rl[1]) : Math.max(1, perSecond * 5);
  if (!Number.isFinite(perSecond) || perSecond < 0 || !Number.isFinite(burst) || burst < 0) {
    throw new VeilError('BAD_ARGUMENT', `--rate-limit must be N or N/B with numbers, got '${v['rate-limit']}'`);
  }
  const retention = Number(v['retention-hours'] ?? DEFAULTS.retentionHours);
  if (!Number.isFinite(retention) || retention <= 0) throw new VeilError('BAD_ARGUMENT', '--retention-hours must be a positive number');
  const server = await startServer({
    host: v.host ?? DEFAULTS.host,
    port: v.port === undefined ? DEFAULTS.port : positiveInt('port', v.port, true),
    dataDir: v['data-dir'] ?? DEFAULTS.dataDir,
    redisUrl: v.redis ?? null,
    redisPrefix: v.prefix ?? DEFAULTS.redisPrefix,
    modelDirs: v.models ?? [SHIPPED_MODELS_DIR],
    apiKeys: keysFrom(v['api-key'] ?? [], process.env.VEIL_API_KEYS),
    maxUploadBytes: v['max-upload'] ? parseSize(v['max-upload']) : DEFAULTS.maxUploadBytes,
    maxInflatedBytes: v['max-inflated'] ? parseSize(v['max-inflated']) : DEFAULTS.maxInflatedBytes,
    jobTimeoutMs: v['job-timeout'] !== undefined ? jobTimeout(v['job-timeout']) : DEFAULTS.jobTimeoutMs,
    allowedHosts: v['allowed-host'] ?? [],
    trustProxy: v['trust-proxy'] === true,
    retentionHours: retention,
    concurrency: v.concurrency ? positiveInt('concurrency', v.concurrency) : defaultConcurrency(),
    classifyThreads: v['classify-threads'] ? positiveInt('classify-threads', v['classify-threads']) : 1,
    maxClassifyRows: DEFAULTS.maxClassifyRows,
    rateLimit: { perSecond, burst },
    graceMs: (v.grace ? Number(v.grace) : DEFAULTS.graceMs / 1000) * 1000,
    sweepIntervalMs: DEFAULTS.sweepIntervalMs,
    adminKeys: keysFrom(v['admin-key'] ?? [], process.env.VEIL_ADMIN_KEYS),
    live: {
      sources: (v.interface ?? []).map((iface) => ({ iface, ...(v.filter ? { filter: v.filter } : {}) })),
      workers: v['live-workers'] ? positiveInt('live-workers', v['live-workers']) : 1,
      early: v.early !== undefined ? positiveInt('early', v.early, true) : 10,
      retentionHours: v['live-retention-hours'] !== undefined ? positiveNumber('live-retention-hours', v['live-retention-hours']) : 24,
      ...(v.catalog?.length ? { catalogFiles: v.catalog } : {}),
      earlyModels: earlyModelFiles(v['early-model']),
    },
    log,
    logger: !v.quiet,
    handleSignals: true,
  });
  const models = server.ctx.catalog.list();
  log(`${server.ctx.queue.backend} queue, ${models.length} model(s)${models.length ? `: ${models.map((m) => m.name).join(', ')}` : ''}, data in ${server.ctx.dataDir}`);
  process.stdout.write(`veil serve: listening on ${server.url}  (UI ${server.url}/, API ${server.url}/api/v1, docs ${server.url}/docs; pid ${process.pid})\n`);
  // Runs until SIGTERM/SIGINT; the signal handler exits the process.
  await new Promise<never>(() => {});
  return 0;
}

/** --early-model files, else the .veilmodel files of models/early/ in this package; the column is the file's name. */
function earlyModelFiles(given: string[] | undefined): { column: string; file: string }[] {
  const files = given ?? (() => {
    const dir = fileURLToPath(new URL('../../models/early/', import.meta.url));
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.veilmodel')).sort().map((f) => path.join(dir, f)) : [];
  })();
  for (const f of files) if (!existsSync(f)) throw new VeilError('BAD_ARGUMENT', `--early-model ${f}: no such file`);
  return files.map((file) => ({ column: path.basename(file).replace(/\.veilmodel$/, ''), file }));
}

function positiveNumber(name: string, s: string): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new VeilError('BAD_ARGUMENT', `--${name} must be a positive number, got '${s}'`);
  return n;
}

/** --job-timeout S in ms; timers hold at most 2^31-1 ms (a longer one would fire at once). */
function jobTimeout(s: string): number {
  const n = positiveInt('job-timeout', s, true);
  if (n > 2_147_483) throw new VeilError('BAD_ARGUMENT', `--job-timeout must be at most 2147483 s (about 24 days), or 0 for none; got ${s}`);
  return n * 1000;
}
