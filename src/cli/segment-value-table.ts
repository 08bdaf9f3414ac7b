/**
 * The short "segment value" table `npm start` prints after the segment list:
 * per segment, its members, revenue per user with its 95% CI, the lift against
 * all other users with its CI, and the out-of-sample verdict of its claim.
 * Read from marts.segment_value and marts.segment_validation.
 */
import type { Knex } from 'knex';

export interface SegmentValueRow {
  definition: string;
  segment: string;
  members: number;
  value: number;
  ci_lower: number | null;
  ci_upper: number | null;
  lift: number | null;
  lift_ci_lower: number | null;
  lift_ci_upper: number | null;
  verdict: string | null;
}

export async function segmentValueRows(knex: Knex): Promise<SegmentValueRow[]> {
  const { rows } = await knex.raw(`
    select v.definition, v.segment, v.members::int as members, v.value, v.ci_lower, v.ci_upper, v.lift, v.lift_ci_lower, v.lift_ci_upper, c.verdict
    from marts.segment_value v
    left join marts.segment_validation c using (definition, segment)
    where v.metric = 'revenue_per_user'
    order by v.definition = 'all' desc, v.definition, v.segment`);
  return rows;
}

const money = (x: number | null) => (x === null ? '—' : `$${x.toFixed(2)}`);
const percent = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)}%`);

/** Rows of text cells: header first. */
export function segmentValueTable(rows: SegmentValueRow[]): string[][] {
  return [
    ['segment', 'n', 'revenue/user', '95% CI', 'lift', '95% CI', 'verdict'],
    ...rows.map((r) => [
      r.definition === 'all' || r.segment === r.definition ? r.segment : `${r.definition}.${r.segment}`,
      r.members.toLocaleString('en-US'),
      money(r.value),
      r.ci_lower === null ? '—' : `[${money(r.ci_lower)}, ${money(r.ci_upper)}]`,
      percent(r.lift),
      r.lift_ci_lower === null ? '—' : `[${percent(r.lift_ci_lower)}, ${percent(r.lift_ci_upper)}]`,
      r.verdict ?? '—',
    ]),
  ];
}
