/**
 * What each BI login (seglayer bi grant) may see: its claims and role, and the row values
 * its claims allow per governed dimension. Only the owner reads these tables; the `bi`
 * views read them (as their owner) to filter rows for `current_user`.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create schema if not exists bi_policy`);
  await knex.raw(`
    create table bi_policy.logins (
      login name primary key,
      role text not null,
      all_rows boolean not null,
      claims jsonb not null,
      granted_at timestamptz not null default now()
    )`);
  await knex.raw(`
    create table bi_policy.row_values (
      login name not null references bi_policy.logins (login) on delete cascade,
      dimension text not null,
      value text not null,
      primary key (login, dimension, value)
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop schema if exists bi_policy cascade`);
}
