/**
 * segments.membership_history records the build's reference time (`reference_at`, the
 * data's clock) beside its wall clock (`changed_at`). The table is an append model
 * built by `seglayer build`, but it is history no build re-derives, so a warehouse
 * built before this column existed gets it here, filled for the rows it already holds.
 *
 * Those builds did not record their reference time. The closest bound known is
 * least(changed_at, the reference time published now): a build cannot have measured
 * to data later than what the warehouse holds today, and wall-clock and reference
 * time agree when the data is live. Builds that share the filled value stay ordered
 * by changed_at, which as-of queries use to break ties; every later build records a
 * reference time at least as late (unless the data itself moves back, e.g. a revert).
 */
import type { Knex } from 'knex';

const exists = async (knex: Knex, relation: string) => (await knex.raw(`select to_regclass(?) is not null as ok`, [relation])).rows[0].ok as boolean;

export async function up(knex: Knex): Promise<void> {
  if (!(await exists(knex, 'segments.membership_history'))) return; // the first build creates it with the column
  const { rows } = await knex.raw(`select 1 from information_schema.columns where table_schema = 'segments' and table_name = 'membership_history' and column_name = 'reference_at'`);
  if (rows.length > 0) return;
  await knex.raw(`alter table segments.membership_history add column reference_at timestamptz`);
  const now = (await exists(knex, 'core.reference_time')) ? '(select max(as_of_at) from core.reference_time)' : 'null::timestamptz';
  await knex.raw(`update segments.membership_history set reference_at = least(changed_at, coalesce(${now}, changed_at))`);
  await knex.raw(`alter table segments.membership_history alter column reference_at set not null`);
}

export async function down(knex: Knex): Promise<void> {
  if (await exists(knex, 'segments.membership_history')) await knex.raw(`alter table segments.membership_history drop column if exists reference_at`);
}
