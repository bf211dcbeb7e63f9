import { VeilError, VeilErrorCode } from '../core/errors.ts';
import type { CaptureErrorCode } from '../wire/types.ts';
import type { LiveCaptureErrorCode } from '../wire/live.ts';
import type { CatalogErrorCode } from '../names/catalog.ts';
import type { DatasetErrorCode } from '../dataset/errors.ts';
import type { ModelErrorCode } from '../model/errors.ts';
import type { ReportErrorCode } from '../report/errors.ts';

/**
 * The service's one error registry: every error the HTTP API answers with has a stable code here, its status and
 * what it means. Responses carry `{ error: { code, status, message } }`; `message` is specific to the request (it
 * names the column, the byte offset, the limit), the description below is the general meaning. ERRORS.md beside this
 * file and the OpenAPI document are generated from this table and a test keeps them in step.
 */
export const ServiceErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  AUTH_MISSING: 'AUTH_MISSING',
  AUTH_INVALID: 'AUTH_INVALID',
  RATE_LIMITED: 'RATE_LIMITED',
  FORBIDDEN: 'FORBIDDEN',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  UPLOAD_MISSING: 'UPLOAD_MISSING',
  UPLOAD_TOO_LARGE: 'UPLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  UNSUPPORTED_INPUT: 'UNSUPPORTED_INPUT',
  BAD_CAPTURE: 'BAD_CAPTURE',
  BAD_TABLE: 'BAD_TABLE',
  MISSING_COLUMNS: 'MISSING_COLUMNS',
  UNKNOWN_MODEL: 'UNKNOWN_MODEL',
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  BAD_MODEL: 'BAD_MODEL',
  MODEL_EXISTS: 'MODEL_EXISTS',
  NO_MODEL: 'NO_MODEL',
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  JOB_NOT_FOUND: 'JOB_NOT_FOUND',
  JOB_NOT_DONE: 'JOB_NOT_DONE',
  NO_LABELS: 'NO_LABELS',
  ONE_CLASS: 'ONE_CLASS',
  VERSION_NOT_FOUND: 'VERSION_NOT_FOUND',
  MODEL_RETIRED: 'MODEL_RETIRED',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  NOT_READY: 'NOT_READY',
  ADMIN_REQUIRED: 'ADMIN_REQUIRED',
  LIVE_NOT_FOUND: 'LIVE_NOT_FOUND',
  LIVE_CAPTURE: 'LIVE_CAPTURE',
  INTERNAL: 'INTERNAL',
} as const;
export type ServiceErrorCode = (typeof ServiceErrorCode)[keyof typeof ServiceErrorCode];

export interface ErrorEntry {
  status: number;
  /** What the code means in general; the response message says what went wrong in this request. */
  description: string;
}

export const ERRORS: Readonly<Record<ServiceErrorCode, ErrorEntry>> = {
  BAD_REQUEST: { status: 400, description: 'The request does not match the route\'s schema (a missing or mistyped field, a bad query parameter).' },
  NOT_FOUND: { status: 404, description: 'No such route, or no such chart for this job or model.' },
  AUTH_MISSING: { status: 401, description: 'The server requires an API key and the request carries no `Authorization: Bearer <key>` header.' },
  AUTH_INVALID: { status: 401, description: 'The bearer token is not one of the server\'s API keys.' },
  RATE_LIMITED: { status: 429, description: 'This API key used up its request budget, or this client address sent too many requests with a wrong or missing key; retry after the number of seconds in `Retry-After`.' },
  FORBIDDEN: { status: 403, description: 'The request came through a name this server does not answer to (a foreign `Host`: DNS rebinding) or is a write from another site (`Origin` or `Sec-Fetch-Site`).' },
  HEADERS_TOO_LARGE: { status: 431, description: 'The request line or headers are larger than the server reads (16 KiB).' },
  UPLOAD_MISSING: { status: 400, description: 'POST /jobs or POST /models needs a multipart/form-data body with one file part.' },
  UPLOAD_TOO_LARGE: { status: 413, description: 'The uploaded file is larger than the server\'s limit (--max-upload), or a gzip upload inflates past --max-inflated; nothing was kept.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'The request body\'s Content-Type is not one the route reads (an upload route takes multipart/form-data only).' },
  UNSUPPORTED_INPUT: { status: 415, description: 'The upload is neither a capture (pcap, pcapng) nor a flow table (CSV, JSONL, Parquet, ARFF), judged by its bytes; its name is ignored.' },
  BAD_CAPTURE: { status: 400, description: 'The capture is truncated or corrupt; the message names the byte offset of the damage. Send `partial=true` to keep the flows before it.' },
  BAD_TABLE: { status: 400, description: 'The flow table cannot be parsed; the message names the line or column.' },
  MISSING_COLUMNS: { status: 400, description: 'The rows lack columns a requested model was trained on; the message names every missing column.' },
  UNKNOWN_MODEL: { status: 400, description: 'The request names a model the server has not loaded (see GET /api/v1/models).' },
  MODEL_NOT_FOUND: { status: 404, description: 'No model of that name is loaded.' },
  BAD_MODEL: { status: 400, description: 'The uploaded file is not a model artifact the model loader accepts (foreign file, wrong version, damaged).' },
  MODEL_EXISTS: { status: 409, description: 'A model of that name is already loaded; upload with `replace=true` to replace it.' },
  NO_MODEL: { status: 409, description: 'The request needs a model and none is loaded.' },
  BATCH_TOO_LARGE: { status: 413, description: 'POST /classify takes a small batch of rows; send larger sets as a job.' },
  JOB_NOT_FOUND: { status: 404, description: 'No job with that id (it may have been deleted, or expired after the retention period).' },
  JOB_NOT_DONE: { status: 409, description: 'The job has no results yet (queued or running) or never will (failed, cancelled); see its state.' },
  NO_LABELS: { status: 409, description: 'The chart needs true labels and the job\'s upload named no label column; or (a training job\'s error) no flow of the uploads got a label.' },
  ONE_CLASS: { status: 400, description: 'A training job\'s labelled flows are all of one class: learning needs two or more.' },
  VERSION_NOT_FOUND: { status: 404, description: 'No trained version of that number under that model name (see GET /api/v1/models/{name}/versions).' },
  MODEL_RETIRED: { status: 409, description: 'The version was retired: it is kept for the record and cannot be activated again; train or activate another.' },
  SHUTTING_DOWN: { status: 503, description: 'The server is draining for shutdown and takes no new jobs; retry on another instance or later.' },
  NOT_READY: { status: 503, description: 'The server is not ready (queue or store unavailable, or shutting down).' },
  ADMIN_REQUIRED: { status: 403, description: 'Starting and stopping live sources needs an admin key (`veil serve --admin-key`); this key is not one.' },
  LIVE_NOT_FOUND: { status: 404, description: 'No live source with that id (see GET /api/v1/live/sources).' },
  LIVE_CAPTURE: { status: 400, description: 'The live capture could not start: no such interface, a bad capture filter, no permission, or neither tcpdump nor dumpcap installed; the message carries the tool\'s own words.' },
  INTERNAL: { status: 500, description: 'A bug or an unexpected failure; the server logs the details.' },
};

/** An error the API answers with: a registered code, its status, and a message specific to this request. */
export class ServiceError extends VeilError {
  declare readonly code: ServiceErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(code: ServiceErrorCode, message: string, headers: Record<string, string> = {}) {
    super(code, message);
    this.name = 'ServiceError';
    this.status = ERRORS[code].status;
    this.headers = headers;
  }
}

/**
 * Maps an error from any layer to the registry: the service's own pass through, user-facing errors from the
 * capture reader, dataset readers and model loader get the matching 4xx, anything else is INTERNAL.
 */
export function toServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  const e = err as { userFacing?: boolean; code?: unknown; message?: unknown; name?: unknown };
  if (e && e.userFacing === true && typeof e.message === 'string') {
    return new ServiceError(serviceCodeFor(String(e.code ?? ''), String(e.name ?? '')), e.message);
  }
  return new ServiceError('INTERNAL', 'internal error');
}

/** Every code a layer below the service raises, whatever the layer. */
export type LayerErrorCode = VeilErrorCode | CaptureErrorCode | LiveCaptureErrorCode | CatalogErrorCode | DatasetErrorCode | ModelErrorCode | ReportErrorCode;

/**
 * The one table from the codes of every layer to the registry: a code added to a layer's table without a line here
 * does not compile.
 */
export const LAYER_ERRORS: Readonly<Record<LayerErrorCode, ServiceErrorCode>> = {
  // core (any layer)
  BAD_ARGUMENT: 'BAD_REQUEST',
  CLI_USAGE: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  MISSING_COLUMNS: 'MISSING_COLUMNS',
  INPUT_TOO_LARGE: 'UPLOAD_TOO_LARGE',
  BAD_LABELS: 'BAD_REQUEST',
  BAD_RULES: 'BAD_REQUEST',
  DATA_DIR_IN_USE: 'BAD_REQUEST',
  NO_LABELS: 'NO_LABELS',
  ONE_CLASS: 'ONE_CLASS',
  LIVE_WORKER: 'INTERNAL',
  // wire
  TRUNCATED: 'BAD_CAPTURE',
  BAD_MAGIC: 'BAD_CAPTURE',
  CORRUPT_RECORD: 'BAD_CAPTURE',
  IO: 'BAD_CAPTURE',
  LIVE_CAPTURE: 'BAD_REQUEST',
  // names
  BAD_CATALOG: 'BAD_REQUEST',
  // dataset
  DATASET_MALFORMED: 'BAD_TABLE',
  DATASET_UNSUPPORTED_FORMAT: 'BAD_TABLE',
  DATASET_MISSING_COLUMN: 'MISSING_COLUMNS',
  DATASET_BAD_COLUMN: 'BAD_TABLE',
  DATASET_PERMUTED_COLUMNS: 'BAD_TABLE',
  DATASET_BAD_SPLIT: 'BAD_TABLE',
  // model
  MODEL_NOT_A_MODEL: 'BAD_MODEL',
  MODEL_WRONG_VERSION: 'BAD_MODEL',
  MODEL_CORRUPT: 'BAD_MODEL',
  MODEL_BAD_INPUT: 'BAD_MODEL',
  MODEL_BAD_TRAINING: 'BAD_MODEL',
  // report
  REPORT_BAD_INPUT: 'BAD_REQUEST',
  REPORT_UNKNOWN_CHART: 'BAD_REQUEST',
  REPORT_NO_FONTS: 'BAD_REQUEST',
};

/** The registry code for a user-facing error of any layer: the service's own pass through, the others by
 * LAYER_ERRORS; a code in neither (an error from outside the project) is a BAD_REQUEST. */
export function serviceCodeFor(code: string, _name = ''): ServiceErrorCode {
  if ((ServiceErrorCode as Record<string, string>)[code] === code) return code as ServiceErrorCode;
  return Object.hasOwn(LAYER_ERRORS, code) ? LAYER_ERRORS[code as LayerErrorCode] : 'BAD_REQUEST';
}

/** The JSON body of every error response. */
export function errorBody(e: ServiceError): { error: { code: ServiceErrorCode; status: number; message: string } } {
  return { error: { code: e.code, status: e.status, message: e.message } };
}

/** ERRORS.md: the registry as a Markdown table (written by `veil serve --errors-md`, checked by a test). */
export function errorsMarkdown(): string {
  const rows = (Object.keys(ERRORS) as ServiceErrorCode[]).map((c) => `| \`${c}\` | ${ERRORS[c].status} | ${ERRORS[c].description} |`);
  return [
    '# Service error codes',
    '',
    'Every error response of the HTTP API has the body `{ "error": { "code", "status", "message" } }`.',
    '`code` is one of the codes below (generated from `src/service/errors.ts`; a test keeps this file in step).',
    '',
    '| code | status | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
