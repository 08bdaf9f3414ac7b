/**
 * How many quarantined rows a load may have before it is refused as a whole
 * (`--max-quarantined 5%` or `--max-quarantined 200`). A file whose rows mostly
 * fail is a wrong mapping or a wrong file, not a few bad rows: committing its
 * remainder would pass a scheduled job that should fail. A load that quarantines
 * every row it considered is refused whatever the limit.
 */
import { UserError } from '../errors/user-error.js';

export type QuarantineLimit = { share: number } | { rows: number };

export const DEFAULT_QUARANTINE_LIMIT = '5%';

export function parseQuarantineLimit(text: string, where = '--max-quarantined'): QuarantineLimit {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (percent && Number(percent[1]) <= 100) return { share: Number(percent[1]) / 100 };
  if (/^\d+$/.test(text.trim())) return { rows: Number(text.trim()) };
  throw new UserError(`${where} ${JSON.stringify(text)}: expected a share such as 5% or a number of rows such as 200`);
}

export function describeLimit(limit: QuarantineLimit): string {
  return 'share' in limit ? `${+(limit.share * 100).toFixed(4)}%` : `${limit.rows} rows`;
}

/** Why a load with these counts is refused, or undefined when it may commit. */
export function quarantineRefusal(limit: QuarantineLimit, quarantined: number, considered: number): string | undefined {
  if (quarantined === 0) return undefined;
  const share = quarantined / considered;
  const percent = `${+(share * 100).toFixed(2)}%`;
  if (quarantined === considered) return `every row (${quarantined}) was quarantined`;
  const over = 'share' in limit ? share > limit.share : quarantined > limit.rows;
  return over ? `${quarantined} of ${considered} rows (${percent}) were quarantined, more than --max-quarantined ${describeLimit(limit)} allows` : undefined;
}
