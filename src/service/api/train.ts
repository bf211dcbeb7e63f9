import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Type } from '@fastify/type-provider-typebox';
import { ServiceError } from '../errors.ts';
import { storedExtension } from '../sniff.ts';
import type { JobPayload, TrainJobSpec, TrainLabel } from '../jobs/types.ts';
import type { App } from './app-types.ts';
import type { ServiceContext } from './context.ts';
import { requestKeys } from './auth.ts';
import { charts } from './charts.ts';
import { newJobId, submitJob } from './jobs.ts';
import { JobRef, ModelName } from './schemas.ts';
import { receiveUploads } from './upload.ts';

const NAME_RE = new RegExp((ModelName as unknown as { pattern: string }).pattern);
/** File parts one training job takes. */
export const MAX_TRAIN_FILES = 50;
/** Training jobs one API key (or, without keys, everyone) may have queued or running at once. */
export const MAX_TRAININGS_IN_FLIGHT = 4;
const TRUE = /^(1|true|yes|on)$/i;

const TrainUploadDoc = Type.Object({
  files: Type.Array(Type.String({ format: 'binary' }), { description: `Captures (pcap, pcapng, optionally gzipped; up to ${MAX_TRAIN_FILES}) or one flow table (CSV, JSONL, Parquet, ARFF), as file parts of any field name` }),
  name: Type.String({ description: 'Model name; each training of a name makes its next version' }),
  label: Type.Optional(Type.String({ description: 'names:app (default for captures: the application the flows\' visible names show, through the service catalogue) | names:category | file (the capture\'s file name: netflix-3.pcap -> netflix) | column:COL for a table (default column:label)' })),
  learner: Type.Optional(Type.String({ description: 'auto (default: boosting up to 20 classes, the forest above) | boosting | forest' })),
  split: Type.Optional(Type.String({ description: 'group (default: held-out captures; a table is grouped by id_capture) | kfold (shuffled folds: overstates accuracy on flows cut from few captures)' })),
  folds: Type.Optional(Type.String({ description: '2..10 (default 5; a grouped split uses at most one fold per capture)' })),
  activate: Type.Optional(Type.String({ description: '"true": make the new version active (a default model) when training succeeds' })),
}, { required: ['files', 'name'] });

/** A version as the path writes it: decimal digits only (no 1e3, 0x10 or 1.0 that a number coercion would take). */
const VersionNumber = Type.String({ pattern: '^[1-9][0-9]{0,9}$', description: 'Version number (1, 2, ...)' });
const VersionParams = Type.Object({ name: ModelName, version: VersionNumber });
const VersionChartParams = Type.Object({ name: ModelName, version: VersionNumber, chart: Type.Union([Type.Literal('importance.svg'), Type.Literal('f1.svg'), Type.Literal('confusion.svg'), Type.Literal('risk-coverage.svg')]) });
const Metrics = Type.Union([Type.Object({ accuracy: Type.Number(), macroF1: Type.Number(), balancedAccuracy: Type.Number() }), Type.Null()]);
const Version = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  state: Type.Union([Type.Literal('active'), Type.Literal('inactive'), Type.Literal('retired')]),
  sha256: Type.String(),
  sizeBytes: Type.Integer(),
  createdAt: Type.Integer({ description: 'ms since the epoch' }),
  createdBy: Type.Union([Type.String(), Type.Null()], { description: 'The API key id that submitted the training (null on a server without keys)' }),
  jobId: Type.String(),
  data: Type.Object({
    inputs: Type.Array(Type.Object({ name: Type.String(), bytes: Type.Integer() })),
    rows: Type.Integer(), classes: Type.Array(Type.String()), label: Type.String(), learner: Type.String(), split: Type.String(),
  }),
  metrics: Metrics,
  activatedAt: Type.Union([Type.Integer(), Type.Null()]),
  retiredAt: Type.Union([Type.Integer(), Type.Null()]),
});
const VersionList = Type.Object({
  name: Type.String(), active: Type.Union([Type.Integer(), Type.Null()]), versions: Type.Array(Version),
  note: Type.Optional(Type.String({ description: 'What the change means when it needs a word (an active version that is not a default, and why)' })),
});
const Registry = Type.Object({ models: Type.Array(VersionList) });

/** The POST /models/train fields, checked: a 400 naming the field otherwise. */
function trainSpec(fields: Record<string, string>, kinds: 'captures' | 'table'): Omit<TrainJobSpec, 'inputs' | 'createdBy'> {
  const name = (fields.name ?? '').trim();
  if (!name) throw new ServiceError('BAD_REQUEST', 'give the model a name (field name)');
  if (!NAME_RE.test(name)) throw new ServiceError('BAD_REQUEST', `model name '${name.slice(0, 80)}' is not allowed: up to 64 letters, digits, '.', '_' and '-', starting with a letter or digit`);
  const learner = (fields.learner ?? 'auto').trim() || 'auto';
  if (learner !== 'auto' && learner !== 'boosting' && learner !== 'forest') throw new ServiceError('BAD_REQUEST', `learner: auto, boosting or forest (got '${learner.slice(0, 40)}')`);
  const split = (fields.split ?? 'group').trim() || 'group';
  if (split !== 'group' && split !== 'kfold') throw new ServiceError('BAD_REQUEST', `split: group or kfold (got '${split.slice(0, 40)}')`);
  const foldsText = (fields.folds ?? '5').trim() || '5';
  const folds = Number(foldsText);
  if (!Number.isInteger(folds) || folds < 2 || folds > 10) throw new ServiceError('BAD_REQUEST', `folds: a whole number from 2 to 10 (got '${foldsText.slice(0, 20)}')`);
  const label = ((fields.label ?? '').trim() || (kinds === 'captures' ? 'names:app' : 'column:label')) as TrainLabel;
  if (kinds === 'captures') {
    if (label !== 'names:app' && label !== 'names:category' && label !== 'file') {
      throw new ServiceError('BAD_REQUEST', `label for captures: names:app, names:category or file (got '${label.slice(0, 80)}')`);
    }
  } else {
    const col = label.startsWith('column:') ? label.slice('column:'.length) : '';
    if (!col || col.length > 200) throw new ServiceError('BAD_REQUEST', `label for a flow table: column:COL, its label column (got '${label.slice(0, 80)}')`);
  }
  return { name, label, learner, split, folds, activate: TRUE.test(fields.activate ?? '') };
}

/**
 * Training as a job, and the registry of trained versions, as a Fastify plugin (routes relative to the API prefix).
 * The API thread only receives and checks the uploads (a table's head in a pool thread); the labelling, the
 * fitting and the report run where jobs run: a pool thread of this server, or a `veil worker` in Redis mode.
 */
export function trainRoutes(ctx: ServiceContext): (app: App) => Promise<void> {
  const reg = ctx.models;
  /** Training uploads being received, per API key id (null: no keys). */
  const receiving = new Map<string | null, number>();
  return async (app) => {
    app.post('/models/train', {
      schema: {
        summary: 'Train a model on uploaded captures or a flow table, as a job',
        description: 'Labels the flows (by the names they show, by file name, or a table column), fits the learner on behaviour alone, ' +
          'evaluates it on held-out captures, and registers the model as the name\'s next version (GET /models/{name}/versions). ' +
          'Follow the job with GET /jobs/{id}; DELETE /jobs/{id} cancels it. Errors of the data (no flow labelled: NO_LABELS, one class: ONE_CLASS) end the job as failed.',
        tags: ['models'], consumes: ['multipart/form-data'], response: { 202: JobRef },
      },
      config: { docBody: TrainUploadDoc, errors: [400, 401, 409, 413, 415, 429, 503] },
    }, async (req, reply) => {
      if (ctx.state.draining) throw new ServiceError('SHUTTING_DOWN', 'the server is shutting down and takes no new jobs');
      // Checked before the upload is read, counting the trainings still being received (requests sent at once all
      // see none queued yet): a flood of trainings costs its sender, not the queue's other users.
      const who = requestKeys.get(req) ?? null;
      const mine = ctx.registry.trainingsInFlight(who) + (receiving.get(who) ?? 0);
      if (mine >= MAX_TRAININGS_IN_FLIGHT) {
        throw new ServiceError('RATE_LIMITED', `${mine} training jobs of this ${who ? 'API key' : 'server'} are queued, running or being uploaded, the most at once: wait for one to end (or cancel one)`, { 'retry-after': '30' });
      }
      receiving.set(who, (receiving.get(who) ?? 0) + 1);
      const id = newJobId();
      const rel = path.join('uploads', `${id}.train`);
      const dir = path.join(ctx.dataDir, rel);
      let keep = false;
      try {
        const up = await receiveUploads(req, { pathFor: (i) => path.join(dir, `${i}.part`), maxBytes: ctx.limits.maxUploadBytes, sniff: true, maxFiles: MAX_TRAIN_FILES });
        const tables = up.files.filter((f) => f.kind!.kind === 'table');
        if (tables.length && up.files.length > 1) throw new ServiceError('BAD_REQUEST', `send captures, or one flow table (got ${tables.length} table(s) among ${up.files.length} files)`);
        const spec = trainSpec(up.fields, tables.length ? 'table' : 'captures');
        if (!tables.length && spec.split === 'group' && up.files.length < 2) {
          throw new ServiceError('BAD_REQUEST', 'a grouped evaluation holds whole captures out: send two captures or more, or split=kfold');
        }
        if (spec.activate && reg.shadows(spec.name)) {
          throw new ServiceError('MODEL_EXISTS', `a model named '${spec.name}' is loaded that is none of its trained versions (uploaded, or from --models): train under another name, or activate later with replace=true`);
        }
        if (tables.length) {
          const t = tables[0]!;
          const columns = new Set(await ctx.pool.tableColumns(t.path, t.kind! as { format: 'csv' | 'jsonl' | 'parquet' | 'arff'; gzip: boolean }, t.displayName));
          const label = spec.label.slice('column:'.length);
          if (!columns.has(label)) throw new ServiceError('MISSING_COLUMNS', `${t.displayName}: no label column '${label}' (give label=column:COL with the table's label column)`);
          if (spec.split === 'group' && !columns.has('id_capture')) {
            throw new ServiceError('BAD_REQUEST', `${t.displayName}: no id_capture column to hold captures out by (a table from 'veil dataset build' has one): send split=kfold`);
          }
        }
        const inputs = up.files.map((f, i) => {
          const file = path.join(rel, `${i}${storedExtension(f.kind!)}`);
          renameSync(f.path, path.join(ctx.dataDir, file));
          return { file, name: f.displayName, bytes: f.bytes, kind: f.kind! };
        });
        const total = inputs.reduce((a, b) => a + b.bytes, 0);
        const payload: JobPayload = {
          kind: 'veil-job', version: 1, id, input: inputs[0]!.kind, file: rel,
          inputName: inputs.length === 1 ? inputs[0]!.name : `${inputs[0]!.name} and ${inputs.length - 1} more`,
          inputBytes: total, models: [], labelColumn: null, partial: true, createdAt: Date.now(),
          limits: { maxInflatedBytes: ctx.limits.maxInflatedBytes ?? 0, timeoutMs: ctx.limits.jobTimeoutMs ?? 0 },
          train: { ...spec, createdBy: who, inputs },
        };
        const rec = await submitJob(ctx, payload, req, reply);
        keep = true;
        return rec;
      } finally {
        const n = (receiving.get(who) ?? 1) - 1;
        if (n > 0) receiving.set(who, n); else receiving.delete(who);
        if (!keep) rmSync(dir, { recursive: true, force: true });
      }
    });

    app.get('/registry', {
      schema: { summary: 'Every trained model name with its versions (newest first) and the active one', tags: ['models'], response: { 200: Registry } },
      config: { errors: [401, 429] },
    }, async () => ({ models: reg.names().map((n) => reg.list(n)) }));

    app.get('/models/:name/versions', {
      schema: { summary: 'A trained model\'s versions: who trained each, when, on what, its held-out scores, which is active', tags: ['models'], params: Type.Object({ name: ModelName }), response: { 200: VersionList } },
      config: { errors: [400, 401, 404, 429] },
    }, async (req) => reg.list(req.params.name));

    app.post('/models/:name/versions/:version/activate', {
      schema: {
        summary: 'Make a version the model loaded under its name, as a default model',
        description: 'New jobs that name no models, POST /classify requests that name none, and live sources started afterwards apply it. Another active version of the name is replaced.',
        tags: ['models'], params: VersionParams, querystring: Type.Object({ replace: Type.Optional(Type.String({ description: '"true": replace a model of the name that is none of its versions (uploaded or from --models)' })) }),
        response: { 200: VersionList },
      },
      config: { errors: [400, 401, 403, 404, 409, 429] },
    }, async (req) => reg.activate(req.params.name, Number(req.params.version), { replace: TRUE.test(req.query.replace ?? '') }));

    app.post('/models/:name/versions/:version/retire', {
      schema: {
        summary: 'Take a version out of service (unloaded if active); it stays on record and cannot be activated again',
        tags: ['models'], params: VersionParams, response: { 200: VersionList },
      },
      config: { errors: [400, 401, 403, 404, 429] },
    }, async (req) => reg.retire(req.params.name, Number(req.params.version)));

    app.get('/models/:name/versions/:version/report', {
      schema: { summary: 'A version\'s evaluation report: a self-contained HTML page with its charts', tags: ['models'], params: VersionParams, produces: ['text/html'], response: { 200: { type: 'string' } } },
      config: { errors: [400, 401, 404, 429] },
    }, async (req, reply) => {
      const html = reg.report(req.params.name, Number(req.params.version));
      // The page holds names from the user's data: no script runs in it, whatever they contain.
      reply.header('content-type', 'text/html; charset=utf-8')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox")
        .header('x-frame-options', 'SAMEORIGIN');
      return html;
    });

    app.get('/models/:name/versions/:version/report.json', {
      schema: { summary: 'A version\'s evaluation on held-out data (per-class scores, confusion matrix, feature importance, risk-coverage)', tags: ['models'], params: VersionParams },
      config: { errors: [400, 401, 404, 429] },
    }, async (req, reply) => {
      // Sent as stored, never parsed on the API thread (a model of a thousand classes has a large evaluation).
      reply.type('application/json; charset=utf-8');
      return reg.evaluationText(req.params.name, Number(req.params.version));
    });

    app.get('/models/:name/versions/:version/charts/:chart', {
      schema: { summary: 'A chart of a version\'s evaluation as SVG', tags: ['models'], params: VersionChartParams, produces: ['image/svg+xml'], response: { 200: { type: 'string' } } },
      config: { errors: [400, 401, 404, 429] },
    }, async (req, reply) => {
      const kind = req.params.chart.replace(/\.svg$/, '');
      // The chart as rendered with the report, off this thread (training jobs write them); older versions render here.
      let svg = reg.chart(req.params.name, Number(req.params.version), kind);
      reply.header('content-type', 'image/svg+xml').header('cache-control', 'private, max-age=60')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
      if (svg !== null) return svg;
      // A version trained by this server wrote every chart it has: a missing one is not there to render.
      if (reg.renderedCharts(req.params.name, Number(req.params.version))) throw new ServiceError('NOT_FOUND', `version ${req.params.version} of '${req.params.name}' has no ${kind} chart`);
      const ev = reg.evaluation(req.params.name, Number(req.params.version));
      const { chartSvg } = await charts();
      if (kind === 'importance') svg = chartSvg('importance', { features: ev.featureImportance });
      else if (kind === 'f1') svg = chartSvg('f1', ev.perClass);
      else if (kind === 'confusion') svg = chartSvg('confusion', { classes: ev.classes, confusion: ev.confusion });
      else {
        if (!ev.riskCoverage) throw new ServiceError('NOT_FOUND', 'this evaluation has no risk-coverage curve');
        svg = chartSvg('risk-coverage', ev.riskCoverage);
      }
      return svg;
    });
  };
}
