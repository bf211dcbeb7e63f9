import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { TSchema, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';

/** The fastify instance type the routes register on (TypeBox schemas give typed params, query and body). */
export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Documentation-only body schema for routes whose body is streamed (multipart): shown in OpenAPI, not validated. */
    docBody?: TSchema;
    /** Route needs no API key (health probes, docs, the UI's static files). */
    public?: boolean;
  }
}
