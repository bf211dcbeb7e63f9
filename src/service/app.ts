import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyError, type FastifyServerOptions } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiKeys, AuthFailureGuard, OriginGuard, RateLimiter } from './api/auth.ts';
import type { App } from './api/app-types.ts';
import type { ServiceContext } from './api/context.ts';
import { jobRoutes } from './api/jobs.ts';
import { modelRoutes } from './api/models.ts';
import { trainRoutes } from './api/train.ts';
import { requestKeys } from './api/auth.ts';
import { liveRoutes } from './live/routes.ts';
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
  /** The address the server listens on: a key-less server answers only to loopback names and this one. */
  listenHost?: string;
  /** More names the Host header may carry (a reverse proxy's); only checked on a key-less server. */
  allowedHosts?: readonly string[];
  /** Behind a reverse proxy on this host: take the client address from X-Forwarded-For sent by loopback. */
  trustProxy?: boolean;
  /** Requests with a wrong or missing key a client address may send (per second, burst) before it is refused. */
  authFailureLimit?: { perSecond: number; burst: number };
}

const QUIET_REFUSALS: ReadonlySet<string> = new Set(['AUTH_MISSING', 'AUTH_INVALID', 'RATE_LIMITED', 'NOT_FOUND', 'FORBIDDEN', 'HEADERS_TOO_LARGE']);

/** Routes of the UI and the API documentation, the only ones a request may reach without a key. */
function isPublicRoute(url: string): boolean {
  return url === '/*' || url === '/' || url === '/docs' || url.startsWith('/docs/');
}

export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
export const API_VERSION = '1';
/** Where the API's route plugins are mounted. */
export const API_PREFIX = `/api/v${API_VERSION}`;

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
    // One line per failed request (from the error handler) instead of two per request: no headers, no body.
    disableRequestLogging: true,
    // Without it every client of a proxy on this host is 'loopback', one bucket for the wrong-key limit.
    ...(opts.trustProxy ? { trustProxy: ['127.0.0.0/8', '::1'] } : {}),
    bodyLimit: 16 << 20,
    // Ids in logs come from the request, not from user text.
    requestIdHeader: false,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    // Errors Node's HTTP parser raises before a request exists (headers over the 16 KiB limit, a malformed request
    // line) still answer in the documented error format.
    // A URL the router cannot decode (invalid percent-encoding or UTF-8): the documented format too.
    frameworkErrors: (err, _req, reply) => {
      const e = new ServiceError('BAD_REQUEST', err.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid (bad percent-encoding)' : 'the request cannot be routed');
      void (reply as unknown as { code(n: number): { type(t: string): { send(b: unknown): unknown } } }).code(e.status).type('application/json').send(errorBody(e));
    },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) { socket.destroy(); return; }
      const e = err.code === 'HPE_HEADER_OVERFLOW'
        ? new ServiceError('HEADERS_TOO_LARGE', 'the request line and headers are larger than 16 KiB')
        : new ServiceError('BAD_REQUEST', 'the request is not valid HTTP/1.1');
      const body = JSON.stringify(errorBody(e));
      socket.end(`HTTP/1.1 ${e.status} ${e.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  const keys = new ApiKeys(opts.apiKeys ?? []);
  const limiter = new RateLimiter(opts.rateLimit?.perSecond ?? 0, opts.rateLimit?.burst ?? 0);
  const failures = new AuthFailureGuard(new RateLimiter(opts.authFailureLimit?.perSecond ?? 1, opts.authFailureLimit?.burst ?? 20, Date.now, 'this client address (wrong or missing API keys)'));
  const listenHost = opts.listenHost ?? '127.0.0.1';
  const origins = new OriginGuard({ checkHost: !keys.enabled, listenHost, allowedHosts: opts.allowedHosts ?? [] });

  // Authorisation is decided on the route the router matched (after it decoded %xx and stripped an absolute-form
  // origin), never on the raw URL: every route needs a key unless it is marked public here or in its own config.
  app.addHook('onRoute', (route) => {
    if (isPublicRoute(route.url ?? route.path)) route.config = { ...(route.config ?? {}), public: true };
  });

  // Set before any plugin registers routes, so the docs and static routes answer in the same format.
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let e: ServiceError;
    if (err.validation) {
      e = new ServiceError('BAD_REQUEST', err.message);
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      e = new ServiceError('BATCH_TOO_LARGE', 'the request body is larger than 16 MiB');
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      e = new ServiceError('UNSUPPORTED_MEDIA_TYPE', `the body's Content-Type (${String(req.headers['content-type'] ?? 'none').split(';')[0]!.slice(0, 80)}) is not one this route reads`);
    } else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && !(err instanceof ServiceError))) {
      e = new ServiceError('BAD_REQUEST', err.message);
    } else if (!(err instanceof ServiceError) && !(err as { userFacing?: boolean }).userFacing && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      // A plugin's own client error (the static files' 403 for a dot-segment path, a malformed URL): the
      // documented format, never a 500.
      e = err.statusCode === 404 || err.statusCode === 403 ? new ServiceError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`) : new ServiceError('BAD_REQUEST', err.message);
    } else {
      e = toServiceError(err);
    }
    if (e.code === 'INTERNAL') req.log.error({ err }, 'internal error');
    else {
      // Refusals anyone can cause without a key are counted, not logged one by one (a flood would fill the disk);
      // the others are logged by code and route, without the message (it may name the uploaded file).
      ctx.metrics.refused(e.code);
      if (!QUIET_REFUSALS.has(e.code)) req.log.info({ code: e.code, status: e.status, route: req.routeOptions.url ?? null }, 'request refused');
    }
    reply.code(e.status).headers(e.headers).type('application/json').send(errorBody(e));
  });

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
      tags: [{ name: 'jobs' }, { name: 'results' }, { name: 'models' }, { name: 'live' }, { name: 'system' }],
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
    // No page of another site may frame the UI (its buttons send same-origin requests) or sniff our types.
    reply.header('x-content-type-options', 'nosniff').header('x-frame-options', 'DENY')
      .header('content-security-policy', "frame-ancestors 'none'").header('referrer-policy', 'no-referrer');
    origins.check(req.method, req.headers);
    const config = req.routeOptions.config as { public?: boolean } | undefined;
    if (config?.public === true) return;
    reply.header('cache-control', 'no-store');
    if (!keys.enabled) return;
    const keyId = failures.authorise(keys, req.ip, req.headers.authorization);
    requestKeys.set(req, keyId);
    limiter.take(keyId);
  });

  // Counted by the route's template (bounded labels); the latency is Fastify's, from arrival to the last byte handed on.
  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.httpRequest(req.method, req.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setNotFoundHandler((req, reply) => {
    const e = new ServiceError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    reply.code(404).type('application/json').send(errorBody(e));
  });

  // The API's routes are plugins written relative to their prefix: the version lives here only.
  await app.register(jobRoutes(ctx), { prefix: API_PREFIX });
  await app.register(modelRoutes(ctx), { prefix: API_PREFIX });
  await app.register(trainRoutes(ctx), { prefix: API_PREFIX });
  await app.register((async (api: App) => {
    api.get('/errors', {
      schema: { summary: 'Every error code the API answers with, its status and meaning', tags: ['system'], response: { 200: ErrorList } },
    }, async () => ({ errors: (Object.keys(ERRORS) as ServiceErrorCode[]).map((code) => ({ code, ...ERRORS[code] })) }));
  }), { prefix: API_PREFIX });
  if (ctx.live) await app.register(liveRoutes(ctx.live), { prefix: API_PREFIX });

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
    return ctx.metrics.render(ctx.registry.countsByState(), depth, ctx.queue.backend) + (ctx.live ? ctx.live.manager.prometheus() : '');
  });

  return app;
}
