import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyError, type FastifyServerOptions } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiKeys, RateLimiter } from './api/auth.ts';
import type { App } from './api/app-types.ts';
import type { ServiceContext } from './api/context.ts';
import { jobRoutes } from './api/jobs.ts';
import { modelRoutes } from './api/models.ts';
import { ErrorList, ErrorResponse, Job, Model } from './api/schemas.ts';
import { ERRORS, ServiceError, errorBody, toServiceError, type ServiceErrorCode } from './errors.ts';

export type { ServiceContext } from './api/context.ts';

export interface AppOptions {
  ctx: ServiceContext;
  /** Bearer tokens; when empty the API is open (the server then refuses to listen beyond loopback). */
  apiKeys?: readonly string[];
  /** Requests per second per API key, and the burst a key may spend at once (0: no limit). */
  rateLimit?: { perSecond: number; burst: number };
  /** Directory of the web UI (default: web/ of this repository; null: no UI). */
  webDir?: string | null;
  logger?: FastifyServerOptions['logger'];
}

export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
export const API_VERSION = '1';

/**
 * Builds the HTTP app (API under /api/v1, OpenAPI at /docs, Prometheus at /metrics, the web UI at /) without
 * listening, so tests drive it with `inject()` and `startServer` adds the socket.
 *
 * @example
 * const app = await buildApp({ ctx });
 * const res = await app.inject({ method: 'GET', url: '/api/v1/jobs' });
 */
export async function buildApp(opts: AppOptions): Promise<App> {
  const { ctx } = opts;
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 16 << 20,
    // Ids in logs come from the request, not from user text.
    requestIdHeader: false,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  const keys = new ApiKeys(opts.apiKeys ?? []);
  const limiter = new RateLimiter(opts.rateLimit?.perSecond ?? 0, opts.rateLimit?.burst ?? 0);

  app.addSchema(ErrorResponse);
  app.addSchema(Job);
  app.addSchema(Model);

  await app.register(swagger, {
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Veil',
        version: API_VERSION,
        description: 'Classify encrypted traffic from captures and flow tables.\n\n' +
          `Authentication: ${keys.enabled ? 'send `Authorization: Bearer <API key>` on /api and /metrics.' : 'none on this server (loopback only).'}\n\n` +
          'Errors: every error response is `{ "error": { "code", "status", "message" } }`:\n\n' +
          '| code | status | meaning |\n|---|---|---|\n' +
          (Object.keys(ERRORS) as ServiceErrorCode[]).map((c) => `| ${c} | ${ERRORS[c].status} | ${ERRORS[c].description.replace(/\|/g, '\\|')} |`).join('\n'),
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(keys.enabled ? { security: [{ bearer: [] }] } : {}),
      tags: [{ name: 'jobs' }, { name: 'results' }, { name: 'models' }, { name: 'system' }],
    },
    transform: ({ schema, url, route }) => {
      if (!schema) return { schema, url };
      const out: Record<string, unknown> = { ...schema };
      const doc = route.config?.docBody;
      if (doc) out.body = doc;
      const errs = route.config?.errors;
      if (errs) {
        const response = { ...(schema.response as Record<string, unknown> | undefined) };
        for (const s of errs) response[String(s)] = { description: 'Error (see the code table above)', $ref: 'Error#' };
        out.response = response;
      }
      return { schema: out as typeof schema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: false } });
  await app.register(multipart, { throwFileSizeLimit: true });

  const webDir = opts.webDir === undefined ? DEFAULT_WEB_DIR : opts.webDir;
  if (webDir && existsSync(webDir)) {
    await app.register(fastifyStatic, { root: webDir, prefix: '/', index: ['index.html'], wildcard: true, cacheControl: false });
  }

  app.addHook('onRequest', async (req, reply) => {
    const url = req.url;
    const guarded = url.startsWith('/api/') || url === '/metrics' || url.startsWith('/metrics?');
    if (!guarded) return;
    reply.header('cache-control', 'no-store');
    let who = req.ip;
    if (keys.enabled) who = keys.check(req.headers.authorization);
    if (keys.enabled) limiter.take(who);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    let e: ServiceError;
    if (err.validation) {
      e = new ServiceError('BAD_REQUEST', err.message);
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      e = new ServiceError('BATCH_TOO_LARGE', 'the request body is larger than 16 MiB');
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && !(err instanceof ServiceError))) {
      e = new ServiceError('BAD_REQUEST', err.message);
    } else {
      e = toServiceError(err);
    }
    if (e.code === 'INTERNAL') req.log.error({ err }, 'internal error');
    reply.code(e.status).headers(e.headers).type('application/json').send(errorBody(e));
  });

  app.setNotFoundHandler((req, reply) => {
    const e = new ServiceError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    reply.code(404).type('application/json').send(errorBody(e));
  });

  jobRoutes(app, ctx);
  modelRoutes(app, ctx);

  app.get('/api/v1/errors', {
    schema: { summary: 'Every error code the API answers with, its status and meaning', tags: ['system'], response: { 200: ErrorList } },
  }, async () => ({ errors: (Object.keys(ERRORS) as ServiceErrorCode[]).map((code) => ({ code, ...ERRORS[code] })) }));

  app.get('/healthz', { schema: { summary: 'Liveness: the process serves HTTP', tags: ['system'] }, config: { public: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Readiness: the store and queue answer and the server is not draining', tags: ['system'] }, config: { public: true } }, async (_req, reply) => {
    const queueOk = await ctx.queue.ready().catch(() => false);
    const ready = !ctx.state.draining && queueOk;
    if (!ready) {
      const why = ctx.state.draining ? 'shutting down' : 'the job queue is unavailable';
      const e = new ServiceError('NOT_READY', `not ready: ${why}`);
      reply.code(e.status);
      return errorBody(e);
    }
    return { status: 'ready', backend: ctx.queue.backend, models: ctx.catalog.list().length };
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['system'], produces: ['text/plain'] } }, async (_req, reply) => {
    const depth = await ctx.queue.depth().catch(() => ({ waiting: -1, active: -1, delayed: -1 }));
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return ctx.metrics.render(ctx.registry.countsByState(), depth, ctx.queue.backend);
  });

  return app;
}
