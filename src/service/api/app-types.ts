import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { TSchema, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';

/** The fastify instance type the routes register on (TypeBox schemas give typed params, query and body). */
export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Documentation-only body schema for routes whose body is streamed (multipart): shown in OpenAPI, not validated. */
    docBody?: TSchema;
    /** Error statuses the route answers with: documented in OpenAPI with the Error schema (not compiled into a
     * serializer per route, which would cost start-up time for no runtime gain). */
    errors?: number[];
    /** Reachable without an API key (liveness, readiness, the UI's files, the API docs); every other route needs one. */
    public?: boolean;
  }
}
