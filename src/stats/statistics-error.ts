import { UserError } from '../errors/user-error.js';
/**
 * The one error the statistics module throws. Errors are data, as elsewhere in
 * seglayer: a stable `code` a caller can branch on (a mart row with too few
 * users is reported as "n too small", not as a crash), the offending `path`
 * into the input, and a sentence for people.
 */
export type StatisticsErrorCode =
  /** A count or sum is not a finite number, or a count is negative or not an integer. */
  | 'invalid_input'
  /** Fewer units than the formula needs (n < 2 for a sample variance). */
  | 'too_few_units'
  /** A mean or ratio divides by zero (a control mean of 0 for a relative effect, a denominator sum of 0). */
  | 'zero_denominator'
  /** Both groups have zero variance, so a standard error of 0 makes a test meaningless. */
  | 'zero_variance'
  /** Sums that no data set could produce (a sum of squares well below sum²/n). */
  | 'inconsistent_statistics';

export class StatisticsError extends UserError {
  constructor(
    readonly code: StatisticsErrorCode,
    readonly path: string,
    message: string,
  ) {
    super([{ code, path: path.split('.'), message }]);
  }
}
