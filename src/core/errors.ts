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
