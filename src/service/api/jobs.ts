import { closeSync, createReadStream, existsSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { csvCell, openWriter } from '../../flow/output.ts';
import type { ColumnDef } from '../../flow/columns.ts';
import type { PerClassScore } from '../../model/evaluation.ts';
import { charts } from './charts.ts';
import { describeColumn } from './columns.ts';
import { ServiceError, errorBody, toServiceError } from '../errors.ts';
import { storedExtension } from '../sniff.ts';
import { deleteResults, ResultReader, resultsDir } from '../store/results.ts';
import { CONFIDENCE_BINS, type JobPayload, type JobRecord, type ModelSummary } from '../jobs/types.ts';
import type { ServiceContext } from './context.ts';
import type { App } from './app-types.ts';
import {
  ChartParams, ChartQuery, GroupPage, GroupsQuery, JobRef, JobList, JobListQuery, JobParams, JobUploadDoc, ResultPage, ResultsQuery,
} from './schemas.ts';
import { receiveUpload } from './upload.ts';


/** Job ids sort by creation time: base-36 milliseconds, then 48 random bits. */
export function newJobId(): string {
  return `j${Date.now().toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;
}

export function uploadsDir(dataDir: string): string {
  return path.join(dataDir, 'uploads');
}

/** Removes a job's upload (any extension; a training job's folder of uploads) from the data dir. */
export function removeUpload(dataDir: string, payload: Pick<JobPayload, 'file'>): void {
  rmSync(path.join(dataDir, payload.file), { force: true, recursive: true });
}

/**
 * Records a job in the registry (the source of truth) and hands it to the queue, answering 202 with its record:
 * POST /jobs and POST /models/train. A queue that is down defers it: the backend's reconciliation enqueues it once
 * the queue is back.
 */
export async function submitJob(ctx: ServiceContext, payload: JobPayload, req: FastifyRequest, reply: FastifyReply): Promise<JobRecord> {
  ctx.registry.insert(payload);
  try {
    await ctx.queue.enqueue(payload);
  } catch (err) {
    req.log.warn({ err }, `job ${payload.id}: enqueue deferred`);
  }
  reply.code(202).header('location', `/api/v1/jobs/${payload.id}`);
  return ctx.registry.get(payload.id)!;
}

/**
 * The jobs and their results as a Fastify plugin: routes are written relative to the API's prefix, which `buildApp` gives
 * at registration (`app.register(jobRoutes(ctx), { prefix: '/api/v1' })`).
 */
export function jobRoutes(ctx: ServiceContext): (app: App) => Promise<void> {
  return async (app) => {
    const view = (rec: JobRecord): JobRecord => {
      if (rec.state !== 'running') return rec;
      const p = ctx.queue.progress(rec.id);
      return p === undefined ? rec : { ...rec, progress: p };
    };
    const mustGet = (id: string): JobRecord => {
      const rec = ctx.registry.get(id);
      if (!rec) throw new ServiceError('JOB_NOT_FOUND', `no job '${id}'`);
      return view(rec);
    };
    // A failed job may have kept the flows it finished before the failure: they are readable as a done job's.
    const openResults = (id: string): ResultReader => {
      const rec = mustGet(id);
      const r = rec.state === 'done' || rec.state === 'failed' ? ResultReader.open(ctx.dataDir, id) : null;
      if (!r && rec.type === 'train') {
        throw new ServiceError('JOB_NOT_DONE', `job ${id} is a training job: it makes a model, not result rows; see /api/v1/models/${rec.train?.name ?? ''}/versions`);
      }
      if (!r) {
        const why = rec.state === 'failed' ? `failed: ${rec.error?.message ?? ''}` : rec.state;
        throw new ServiceError('JOB_NOT_DONE', `job ${id} has no results (${why})`);
      }
      return r;
    };

    app.post('/jobs', {
      schema: {
        summary: 'Create a job from an uploaded capture or flow table',
        description: 'multipart/form-data with one file part (pcap, pcapng, CSV, JSONL, Parquet, ARFF; gzip allowed except Parquet) and optional fields `models`, `label`, `partial`. The format is sniffed from the bytes. The file is streamed to disk under a generated name.',
        tags: ['jobs'],
        consumes: ['multipart/form-data'],
        response: { 202: JobRef },
      },
      config: { docBody: JobUploadDoc, errors: [400, 401, 409, 413, 415, 429, 503] },
    }, async (req, reply) => {
      if (ctx.state.draining) throw new ServiceError('SHUTTING_DOWN', 'the server is shutting down and takes no new jobs');
      const id = newJobId();
      const tmp = path.join(uploadsDir(ctx.dataDir), `${id}.part`);
      const up = await receiveUpload(req, { path: tmp, maxBytes: ctx.limits.maxUploadBytes, sniff: true });
      let keep = false;
      try {
        const kind = up.kind!;
        const partial = /^(1|true|yes|on)$/i.test(up.fields.partial ?? '');
        if (up.capture?.error && !partial) {
          throw new ServiceError('BAD_CAPTURE', `${up.capture.error.message}; send partial=true to keep the flows before the damage`);
        }
        const names = parseList(up.fields.models);
        const { refs, models } = ctx.catalog.resolve(names);
        const label = (up.fields.label ?? '').trim() || null;
        if (kind.kind === 'capture' && label) {
          throw new ServiceError('BAD_REQUEST', 'a label column applies to flow tables, not captures');
        }
        if (kind.kind === 'table') {
          // Read in a pool thread: a crafted head (a million columns, a damaged Parquet footer) costs that thread.
          const columns = new Set(await ctx.pool.tableColumns(tmp, kind, up.displayName));
          const need = [...new Set([...models.flatMap((m) => m.columns), ...(label ? [label] : [])])];
          const missing = need.filter((c) => !columns.has(c));
          if (missing.length) throw new ServiceError('MISSING_COLUMNS', `${up.displayName}: ${lacksPhrase(missing, label)}`);
        }
        const file = path.join('uploads', `${id}${storedExtension(kind)}`);
        renameSync(tmp, path.join(ctx.dataDir, file));
        const payload: JobPayload = {
          kind: 'veil-job', version: 1, id, input: kind, file, inputName: up.displayName, inputBytes: up.bytes,
          models: refs, labelColumn: label, partial, createdAt: Date.now(),
          limits: { maxInflatedBytes: ctx.limits.maxInflatedBytes ?? 0, timeoutMs: ctx.limits.jobTimeoutMs ?? 0 },
        };
        const rec = await submitJob(ctx, payload, req, reply);
        keep = true;
        return rec;
      } finally {
        if (!keep) rmSync(tmp, { force: true });
      }
    });

    app.get('/jobs', {
      schema: { summary: 'List jobs, newest first', tags: ['jobs'], querystring: JobListQuery, response: { 200: JobList } },
      config: { errors: [400, 401, 429] },
    }, async (req) => {
      const { jobs, total } = ctx.registry.list({ limit: req.query.limit ?? 50, offset: req.query.offset ?? 0, ...(req.query.state ? { state: req.query.state } : {}), ...(req.query.type ? { type: req.query.type } : {}) });
      return { jobs: jobs.map(view), total };
    });

    app.get('/jobs/:id', {
      schema: { summary: 'A job\'s state, progress (0..1), counts and error', tags: ['jobs'], params: JobParams, response: { 200: JobRef } },
      config: { errors: [400, 401, 404, 429] },
    }, async (req) => mustGet(req.params.id));

    app.delete('/jobs/:id', {
      schema: { summary: 'Cancel a queued or running job and delete it with its results', tags: ['jobs'], params: JobParams, response: { 204: { type: 'null' } } },
      config: { errors: [400, 401, 404, 429] },
    }, async (req, reply) => {
      const id = req.params.id;
      const payload = ctx.registry.payload(id);
      if (!payload) throw new ServiceError('JOB_NOT_FOUND', `no job '${id}'`);
      ctx.registry.cancel(id);
      await ctx.queue.cancel(id);
      ctx.registry.delete(id);
      ctx.registry.scrub();
      deleteResults(ctx.dataDir, id);
      removeUpload(ctx.dataDir, payload);
      reply.code(204);
      return null;
    });

    app.get('/jobs/:id/results', {
      schema: {
        summary: 'A page of result rows: identity columns, handshake metadata, per model label, confidence, unknown flag',
        tags: ['results'], params: JobParams, querystring: ResultsQuery, response: { 200: ResultPage },
      },
      config: { errors: [400, 401, 404, 409, 429] },
    }, async (req) => {
      const r = openResults(req.params.id);
      try {
        const q = req.query;
        if (q.sort) mustBeColumn(r, 'sort', q.sort, req.params.id);
        const where = parseWhere(r, q.where, req.params.id);
        const page = r.page({ offset: q.offset ?? 0, limit: q.limit ?? 100, ...(q.sort ? { sort: q.sort } : {}), ...(q.desc ? { desc: q.desc } : {}), ...(q.q ? { q: q.q } : {}), where });
        return { ...page, columns: page.columns.map(describeColumn) };
      } finally {
        r.close();
      }
    });

    app.get('/jobs/:id/groups', {
      schema: {
        summary: 'Flows and bytes per value of one result column (host, service, SNI, category ...), among the rows a filter keeps',
        tags: ['results'], params: JobParams, querystring: GroupsQuery, response: { 200: GroupPage },
      },
      config: { errors: [400, 401, 404, 409, 429] },
    }, async (req) => {
      const r = openResults(req.params.id);
      try {
        const q = req.query;
        mustBeColumn(r, 'by', q.by, req.params.id);
        const where = parseWhere(r, q.where, req.params.id);
        const bytes = r.columns.map(describeColumn).filter((c) => c.kind === 'bytes').map((c) => c.name);
        return r.groups(q.by, { ...(q.q ? { q: q.q } : {}), where }, q.limit ?? 50, bytes);
      } finally {
        r.close();
      }
    });

    app.get('/jobs/:id/results.csv', {
      schema: { summary: 'All result rows as CSV', tags: ['results'], params: JobParams, produces: ['text/csv'], response: { 200: { type: 'string' } } },
      config: { errors: [400, 401, 404, 409, 429] },
    }, async (req, reply) => {
      const r = openResults(req.params.id);
      const cols = r.columns;
      const batches = r.batches();
      const body = Readable.from((function* () {
        try {
          yield cols.map((c) => csvCell(c.name)).join(',') + '\n';
          for (const rows of batches) {
            let s = '';
            for (const row of rows) s += row.map((v) => csvCell(v)).join(',') + '\n';
            yield s;
          }
        } finally {
          r.close();
        }
      })(), { objectMode: false });
      reply.header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${req.params.id}-results.csv"`);
      return reply.send(body as never);
    });

    app.get('/jobs/:id/results.parquet', {
      schema: { summary: 'All result rows as Parquet', tags: ['results'], params: JobParams, produces: ['application/vnd.apache.parquet'], response: { 200: { type: 'string', format: 'binary' } } },
      config: { errors: [400, 401, 404, 409, 429] },
    }, async (req, reply) => {
      const r = openResults(req.params.id);
      const out = path.join(resultsDir(ctx.dataDir), `${req.params.id}.parquet`);
      try {
        if (!existsSync(out)) {
          const tmp = `${out}.${randomBytes(4).toString('hex')}.tmp`;
          const defs: ColumnDef[] = r.columns.map((c) => ({ name: c.name, role: 'identity', type: c.type, unit: '', direction: 'none', description: '' }));
          const w = openWriter(tmp, 'parquet', defs);
          for (const rows of r.batches()) {
            for (const row of rows) w.write(row);
            await new Promise((res) => setImmediate(res));
          }
          await w.close();
          renameSync(tmp, out);
        }
      } finally {
        r.close();
      }
      reply.header('content-type', 'application/vnd.apache.parquet')
        .header('content-disposition', `attachment; filename="${req.params.id}-results.parquet"`);
      return reply.send(createReadStream(out) as never);
    });

    app.get('/jobs/:id/charts/:chart', {
      schema: {
        summary: 'A chart of a finished job as SVG: traffic by application or category in flows (apps, categories) or bytes (apps-bytes, categories-bytes); per model: counts per class, confidence histogram, confusion matrix and per-class F1 (the last two need a label column)',
        tags: ['results'], params: ChartParams, querystring: ChartQuery, produces: ['image/svg+xml'], response: { 200: { type: 'string' } },
      },
      config: { errors: [400, 401, 404, 409, 429] },
    }, async (req, reply) => {
      const rec = mustGet(req.params.id);
      if ((rec.state !== 'done' && rec.state !== 'failed') || !rec.summary) throw new ServiceError('JOB_NOT_DONE', `job ${rec.id} has no results (${rec.state})`);
      const kind = req.params.chart.replace(/\.svg$/, '');
      const traffic = /^(apps|categories)(-bytes)?$/.exec(kind);
      if (traffic) {
        const t = rec.summary.traffic;
        if (!t) throw new ServiceError('NOT_FOUND', `job ${rec.id} has no traffic summary (finished by an older server)`);
        const by = traffic[1] === 'apps' ? t.byApp : t.byCategory;
        const bytes = traffic[2] !== undefined;
        const counts = Object.fromEntries(Object.entries(by).map(([k, v]) => [k, bytes ? v.bytes : v.flows]).sort((a, b) => (b[1] as number) - (a[1] as number)).slice(0, 25));
        reply.header('content-type', 'image/svg+xml').header('cache-control', 'private, max-age=3600');
        return (await charts()).chartSvg('counts', { counts, title: `Traffic by ${traffic[1] === 'apps' ? 'application' : 'category'} (${bytes ? 'bytes' : 'flows'})` });
      }
      const ms = rec.summary.models;
      if (ms.length === 0) throw new ServiceError('NO_MODEL', `job ${rec.id} applied no model, so there is nothing to chart`);
      const m = req.query.model ? ms.find((x) => x.name === req.query.model) : ms[0];
      if (!m) throw new ServiceError('MODEL_NOT_FOUND', `job ${rec.id} did not apply model '${req.query.model}'`);
      reply.header('content-type', 'image/svg+xml').header('cache-control', 'private, max-age=3600');
      return jobChart(kind, m, rec.id, (await charts()).chartSvg);
    });
  };
}

function jobChart(kind: string, m: ModelSummary, id: string, chartSvg: Awaited<ReturnType<typeof charts>>['chartSvg']): string {
  switch (kind) {
    case 'counts':
      return chartSvg('counts', { counts: m.counts, title: `${m.name}: flows per predicted class` });
    case 'confidence': {
      const n = m.confidenceHist.reduce((a, b) => a + b, 0);
      const conf = new Float64Array(n);
      let k = 0;
      m.confidenceHist.forEach((c, i) => { conf.fill((i + 0.5) / CONFIDENCE_BINS, k, k + c); k += c; });
      return chartSvg('confidence', { confidences: conf, threshold: m.threshold, bins: CONFIDENCE_BINS });
    }
    case 'confusion':
    case 'f1': {
      if (!m.confusion) throw new ServiceError('NO_LABELS', `job ${id} was uploaded without a label column`);
      return kind === 'confusion'
        ? chartSvg('confusion', { classes: m.confusion.classes, confusion: m.confusion.matrix })
        : chartSvg('f1', perClassScores(m.confusion.classes, m.confusion.matrix));
    }
    default:
      throw new ServiceError('NOT_FOUND', `no chart '${kind}'`);
  }
}

/** Precision, recall and F1 per class from a confusion matrix (rows true, columns predicted, then unknown). */
export function perClassScores(classes: readonly string[], matrix: readonly (readonly number[])[]): PerClassScore[] {
  const colSum = classes.map((_, j) => matrix.reduce((a, row) => a + (row[j] ?? 0), 0));
  return classes.map((label, i) => {
    const row = matrix[i] ?? [];
    const support = row.reduce((a, b) => a + b, 0);
    const tp = row[i] ?? 0;
    const precision = colSum[i]! > 0 ? tp / colSum[i]! : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support };
  }).filter((s) => s.support > 0 || colSum[classes.indexOf(s.label)]! > 0);
}

function mustBeColumn(r: ResultReader, param: string, name: string, id: string): void {
  if (r.columnIndex(name) < 0) {
    throw new ServiceError('BAD_REQUEST', `querystring/${param} '${name.slice(0, 80)}' is not a column of job ${id}'s results; use one of: ${r.columns.map((c) => c.name).join(', ')}`);
  }
}

/** `where=column=value` filters (the first '=' splits; the column must exist). */
function parseWhere(r: ResultReader, where: readonly string[] | undefined, id: string): { column: string; value: string }[] {
  return (where ?? []).map((w) => {
    const i = w.indexOf('=');
    if (i <= 0) throw new ServiceError('BAD_REQUEST', `querystring/where '${w.slice(0, 80)}' must be column=value`);
    const column = w.slice(0, i);
    mustBeColumn(r, 'where', column, id);
    return { column, value: w.slice(i + 1) };
  });
}

/**
 * What a table lacks, in words: "lacks the label column 'truth'", "lacks 2 columns the models need: a, b", "lacks
 * the label column 'truth' and 1 column the models need: a".
 */
export function lacksPhrase(missing: readonly string[], label: string | null): string {
  const model = missing.filter((c) => c !== label);
  const parts: string[] = [];
  if (label !== null && missing.includes(label)) parts.push(`the label column '${label}'`);
  if (model.length) parts.push(`${model.length} column${model.length === 1 ? '' : 's'} the models need: ${model.join(', ')}`);
  return `lacks ${parts.join(' and ')}`;
}

/**
 * The `models` field of POST /jobs: absent means the default models; present but empty (`""` or `[]`, a form with
 * every model unticked) means no model at all, never the defaults.
 */
export function parseList(s: string | undefined): string[] | null {
  if (s === undefined) return null;
  const t = s.trim();
  if (t.startsWith('[')) {
    try {
      const a = JSON.parse(t) as unknown;
      if (Array.isArray(a) && a.every((x) => typeof x === 'string')) return (a as string[]).map((x) => x.trim()).filter(Boolean);
    } catch { /* fall through */ }
    throw new ServiceError('BAD_REQUEST', 'models must be a comma-separated list or a JSON array of names');
  }
  return t.split(',').map((x) => x.trim()).filter(Boolean);
}

export { errorBody };
