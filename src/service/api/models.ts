import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { ServiceError } from '../errors.ts';
import { modelNameOf } from '../models/load.ts';
import type { App } from './app-types.ts';
import type { ServiceContext } from './context.ts';
import { perClassScores } from './jobs.ts';
import { charts } from './charts.ts';
import {
  ClassifyBody, ClassifyResponse, ModelChartParams, ModelRefSchema, ModelList, ModelName, ModelParams, ModelPatch, ModelUploadDoc,
} from './schemas.ts';
import { receiveUpload } from './upload.ts';

const NAME_RE = new RegExp((ModelName as unknown as { pattern: string }).pattern);

/**
 * The models and POST /classify as a Fastify plugin: routes are written relative to the API's prefix, which `buildApp` gives
 * at registration (`app.register(modelRoutes(ctx), { prefix: '/api/v1' })`).
 */
export function modelRoutes(ctx: ServiceContext): (app: App) => Promise<void> {
  return async (app) => {
    app.get('/models', {
      schema: { summary: 'Loaded models', tags: ['models'], response: { 200: ModelList } },
      config: { errors: [401, 429] },
    }, async () => ({ models: ctx.catalog.list().map((m) => ({ ...m, version: ctx.models.loadedVersion(m.name, m.sha256) })) }));

    app.get('/models/:name', {
      schema: { summary: 'A model: classes, metrics, feature columns, feature importance', tags: ['models'], params: ModelParams, response: { 200: ModelRefSchema } },
      config: { errors: [400, 401, 404, 429] },
    }, async (req) => {
      const m = ctx.catalog.describe(req.params.name);
      return { ...m, version: ctx.models.loadedVersion(m.name, m.sha256) };
    });

    app.get('/models/:name/charts/:chart', {
      schema: {
        summary: 'A chart of a model as SVG: feature importance, per-class F1 and confusion matrix from its evaluation',
        tags: ['models'], params: ModelChartParams, produces: ['image/svg+xml'], response: { 200: { type: 'string' } },
      },
      config: { errors: [400, 401, 404, 429] },
    }, async (req, reply) => {
      const info = ctx.catalog.describe(req.params.name);
      const kind = req.params.chart.replace(/\.svg$/, '');
      const { chartSvg } = await charts();
      let svg: string;
      if (kind === 'importance') {
        svg = chartSvg('importance', { features: info.featureImportance });
      } else if (kind === 'f1') {
        const pc = info.metrics?.perClass ?? (info.metrics?.confusion ? perClassScores(info.classes, info.metrics.confusion) : null);
        if (!pc) throw new ServiceError('NOT_FOUND', `model '${info.name}' carries no per-class scores`);
        svg = chartSvg('f1', pc);
      } else {
        if (!info.metrics?.confusion) throw new ServiceError('NOT_FOUND', `model '${info.name}' carries no confusion matrix`);
        svg = chartSvg('confusion', { classes: info.classes, confusion: info.metrics.confusion });
      }
      reply.header('content-type', 'image/svg+xml').header('cache-control', 'private, max-age=60');
      return svg;
    });

    app.post('/models', {
      schema: {
        summary: 'Upload a trained model artifact; it is validated with the model loader before it is kept',
        tags: ['models'], consumes: ['multipart/form-data'], response: { 201: ModelRefSchema },
      },
      config: { docBody: ModelUploadDoc, errors: [400, 401, 409, 413, 429] },
    }, async (req, reply) => {
      const tmp = path.join(ctx.dataDir, 'tmp', `model-${randomBytes(8).toString('hex')}.part`);
      // Artifacts are small next to captures; a tenth of the upload limit bounds them.
      const up = await receiveUpload(req, { path: tmp, maxBytes: Math.max(64 << 20, Math.floor(ctx.limits.maxUploadBytes / 10)), sniff: false });
      try {
        const given = (up.fields.name ?? '').trim();
        const fromFile = modelNameOf(up.displayName);
        const name = given || fromFile;
        if (!NAME_RE.test(name)) {
          throw new ServiceError('BAD_REQUEST', `model name '${name.slice(0, 80)}' is not allowed: use letters, digits, '.', '_' and '-' (it becomes a file name)`);
        }
        // A foreign or crafted file is refused by the loader in a pool thread, not parsed on the API thread.
        await ctx.pool.checkModel(tmp, name).catch((err: unknown) => {
          const e = err as ServiceError;
          if (e instanceof ServiceError && e.code === 'BAD_MODEL') throw new ServiceError('BAD_MODEL', `the upload is not a model this server can load: ${e.message}`);
          throw err;
        });
        const info = await ctx.catalog.install(tmp, name, {
          replace: /^(1|true|yes|on)$/i.test(up.fields.replace ?? ''),
          // Only when asked: an upload never changes what jobs that name no models get without a word.
          isDefault: /^(1|true|yes|on)$/i.test(up.fields.default ?? ''),
        });
        reply.code(201).header('location', `/api/v1/models/${encodeURIComponent(name)}`);
        return info;
      } finally {
        rmSync(tmp, { force: true });
      }
    });

    app.patch('/models/:name', {
      schema: {
        summary: 'Choose whether a model is a default (applied to jobs and POST /classify requests that name no models)',
        tags: ['models'], params: ModelParams, body: ModelPatch, response: { 200: ModelRefSchema },
      },
      config: { errors: [400, 401, 403, 404, 429] },
    }, async (req) => ctx.catalog.setDefault(req.params.name, req.body.default));

    app.delete('/models/:name', {
      schema: {
        summary: 'Unload a model: an uploaded one is deleted; one of a --models directory stays on disk and is no longer loaded by this server',
        description: 'Jobs already queued with the model fail if their worker no longer finds it; finished jobs keep their results.',
        tags: ['models'], params: ModelParams, response: { 204: { type: 'null' } },
      },
      config: { errors: [400, 401, 403, 404, 429] },
    }, async (req, reply) => {
      await ctx.catalog.remove(req.params.name);
      reply.code(204);
      return null;
    });

    // The body is parsed, checked and predicted in a worker thread: the API thread only reads the bytes, so large
    // batches never stall other requests. Its schema is documentation here (docBody), enforced by the thread.
    app.register(async (sub) => {
      sub.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
      sub.post('/classify', {
        schema: {
          summary: 'Classify a small batch of flow feature rows synchronously',
          description: 'Each row maps column names to values; every row must carry every column the requested models read.',
          tags: ['models'], consumes: ['application/json'], response: { 200: ClassifyResponse },
        },
        config: { docBody: ClassifyBody, errors: [400, 401, 409, 413, 429] },
      }, async (req) => {
        // application/json only: text/plain is what a cross-site form can send without a preflight.
        if (typeof req.body !== 'string' || !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
          throw new ServiceError('BAD_REQUEST', 'send the rows as application/json');
        }
        const out = await ctx.pool.classify({ body: req.body, catalog: ctx.catalog.classifyCatalog(ctx.limits.maxClassifyRows) }, ctx.catalog.searchDirs);
        ctx.metrics.classified(out.rows);
        return { results: out.results };
      });
    });
  };
}
