/**
 * raw.users by user id, as staging.stg_users keys it (trimmed): core.dim_users reads the
 * profiles of the users a new batch touches through that view, whose window is partitioned
 * by the trimmed id, so the id filter is pushed below it as `trim(user_id) = any(...)`.
 * Without an index that was a scan of every user comparing each with every touched id
 * (1.5 s of dim_users' 2.3 s at 20k users after +1% events); with it, one lookup per id.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index if not exists users_trimmed_user_id_index on raw.users ((trim(user_id)))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists raw.users_trimmed_user_id_index');
}
