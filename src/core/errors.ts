/**
 * Codes of user-facing errors any layer may raise as a plain VeilError (a layer's own kinds have their own tables:
 * CaptureErrorCode, DatasetErrorCode, ModelErrorCode, ...). Codes are written in one casing, UPPER_SNAKE, keys as
 * values; src/service/errors.ts maps every one of them to a service code in a typed table.
 */
export const VeilErrorCode = {
  /** A command-line option or argument out of range or malformed. */
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** A command used wrongly (missing operands, conflicting options). */
  CLI_USAGE: 'CLI_USAGE',
  /** A file or directory the user named does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** Rows lack columns a model needs (the message names them). */
  MISSING_COLUMNS: 'MISSING_COLUMNS',
  /** A compressed input inflates past the limit. */
  INPUT_TOO_LARGE: 'INPUT_TOO_LARGE',
  /** A labels file (capture, 5-tuple or time range, label) cannot be used. */
  BAD_LABELS: 'BAD_LABELS',
  /** A labelling rules file cannot be used. */
  BAD_RULES: 'BAD_RULES',
  /** The service's data directory is locked by another server, or the lock cannot be taken. */
  DATA_DIR_IN_USE: 'DATA_DIR_IN_USE',
  /** Learning needs labelled flows and none was labelled. */
  NO_LABELS: 'NO_LABELS',
  /** Learning needs two classes or more and the labels hold one. */
  ONE_CLASS: 'ONE_CLASS',
  /** A live metering worker thread failed (src/live). */
  LIVE_WORKER: 'LIVE_WORKER',
} as const;
export type VeilErrorCode = (typeof VeilErrorCode)[keyof typeof VeilErrorCode];

/**
 * Base of every error that reports bad input (a corrupt capture, a wrong CSV, a foreign model file) rather than a
 * bug. The CLI prints its message alone, the service turns it into a 4xx, a job fails at once without retries.
 * Messages name the file and the place (byte offset, line, column).
 */
export class VeilError extends Error {
  readonly userFacing = true;
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'VeilError';
    this.code = code;
  }
}
