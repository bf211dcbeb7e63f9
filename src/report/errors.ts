import { VeilError } from '../core/errors.ts';

/** Stable codes of report errors. */
export const ReportErrorCode = {
  /** The evaluation result is not a version-1 `veil-evaluation` or its parts disagree (matrix size vs classes). */
  BAD_INPUT: 'REPORT_BAD_INPUT',
  /** `chartSvg` was asked for a kind it does not know. */
  UNKNOWN_CHART: 'REPORT_UNKNOWN_CHART',
  /** No font was found for PNG rendering. */
  NO_FONTS: 'REPORT_NO_FONTS',
} as const;
export type ReportErrorCode = (typeof ReportErrorCode)[keyof typeof ReportErrorCode];

export class ReportError extends VeilError {
  declare readonly code: ReportErrorCode;
  constructor(code: ReportErrorCode, message: string) {
    super(code, message);
    this.name = 'ReportError';
  }
}
