import { Type } from '@sinclair/typebox';
import type { App } from '../api/app-types.ts';
import { ApiKeys } from '../api/auth.ts';
import { ServiceError } from '../errors.ts';
import type { LiveManager } from './manager.ts';

/** What the live routes need: the manager, and who may start and stop sources. */
export interface LiveContext {
  manager: LiveManager;
  /** Admin keys (`--admin-key`); with none on a server without API keys (loopback only), anyone local is admin. */
  admin: ApiKeys;
  /** Whether the server requires API keys at all. */
  keysEnabled: boolean;
}

const StartBody = Type.Object({
  interface: Type.String({ minLength: 1, maxLength: 64, description: 'Interface to capture on (as tcpdump -i takes it)' }),
  filter: Type.Optional(Type.String({ maxLength: 1024, description: 'BPF capture filter' })),
  workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 16, description: 'Worker threads metering the shards (default 1)' })),
  early: Type.Optional(Type.Integer({ minimum: 0, maximum: 64, description: 'Early verdict at this many packets (0: final verdicts only; default: the server --early setting, 10)' })),
  models: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 16, description: 'Model names (default: the default models)' })),
}, { additionalProperties: false });

const FlowsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 200 })),
  source: Type.Optional(Type.String({ maxLength: 64 })),
  kind: Type.Optional(Type.Union([Type.Literal('early'), Type.Literal('final')])),
  key: Type.Optional(Type.String({ maxLength: 256 })),
  before: Type.Optional(Type.Integer({ minimum: 1 })),
});

const SeriesQuery = Type.Object({
  window: Type.Optional(Type.Union([Type.Literal(300), Type.Literal(900), Type.Literal(3600)], { default: 300 })),
});

/**
 * /api/v1/live: live sources (list with capture health; start and stop with an admin key), the stored live records,
 * rolling traffic series, and the event stream the dashboard (web/live.html) reads.
 */
export function liveRoutes(live: LiveContext): (app: App) => Promise<void> {
  return async (app) => {
    const admin = (header: string | undefined): void => {
      if (!live.keysEnabled && !live.admin.enabled) return;
      if (live.admin.idOf(header) === null) throw new ServiceError('ADMIN_REQUIRED', 'starting or stopping a live source needs an admin key (veil serve --admin-key)');
    };

    app.get('/live/sources', { schema: { summary: 'Live sources and their capture health', tags: ['live'] } },
      async () => ({ sources: live.manager.list() }));

    app.post('/live/sources', { schema: { summary: 'Start capturing and classifying an interface (admin key)', tags: ['live'], body: StartBody }, config: { errors: [400, 403] } },
      async (req, reply) => {
        admin(req.headers.authorization);
        const info = await live.manager.start(req.body);
        reply.code(201);
        return info;
      });

    app.get('/live/sources/:id', { schema: { summary: 'One live source', tags: ['live'], params: Type.Object({ id: Type.String({ maxLength: 64 }) }) }, config: { errors: [404] } },
      async (req) => live.manager.info(req.params.id));

    app.delete('/live/sources/:id', { schema: { summary: 'Stop a live source (admin key): its open flows get their final verdicts', tags: ['live'], params: Type.Object({ id: Type.String({ maxLength: 64 }) }) }, config: { errors: [403, 404] } },
      async (req) => {
        admin(req.headers.authorization);
        return live.manager.stop(req.params.id);
      });

    app.get('/live/flows', { schema: { summary: 'Stored live verdicts, newest first (early and final records of each flow)', tags: ['live'], querystring: FlowsQuery } },
      async (req) => ({ records: live.manager.store.recent({ limit: req.query.limit ?? 200, ...req.query }) }));

    app.get('/live/series', { schema: { summary: 'Traffic by category and application over the last 5, 15 or 60 minutes (bytes/s, flows/s), top services', tags: ['live'], querystring: SeriesQuery } },
      async (req) => live.manager.hub.series.window(Date.now(), req.query.window ?? 300));

    app.get('/live/events', { schema: { summary: 'Server-sent events: records (new verdicts), health (capture counters, every second)', tags: ['live'], produces: ['text/event-stream'] } },
      (req, reply) => {
        reply.hijack();
        live.manager.hub.attach(reply.raw, { sources: live.manager.list() });
        req.raw.on('close', () => reply.raw.end());
      });
  };
}
