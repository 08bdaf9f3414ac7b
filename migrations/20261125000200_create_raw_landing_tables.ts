/**
 * raw: append-only landing tables, written only by `seglayer load` (or any ETL
 * that follows the same contract). Columns are typed so a malformed value is
 * caught at load time, but nothing is de-duplicated or joined here: staging
 * models do that. Every row records the batch that loaded it and its row number
 * in the source, so any derived fact traces back to a line of a file.
 */
import type { Knex } from 'knex';

type Columns = (t: Knex.CreateTableBuilder) => void;

// No foreign key to ops.load_batches: a per-row RI check halves COPY speed, and
// the loader writes both in one transaction anyway.
const lineage: Columns = (t) => {
  t.bigInteger('load_batch_id').notNullable();
  t.bigInteger('source_row_number').notNullable();
};

const tables: Record<string, Columns> = {
  events: (t) => {
    t.text('message_id').notNullable().comment('producer-assigned id; duplicates are removed in staging');
    t.text('anonymous_id');
    t.text('user_id');
    t.text('event').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.timestamp('received_at', { useTz: true });
    t.jsonb('properties');
    t.text('device_type');
    t.text('os');
    t.text('browser');
    t.text('country');
    t.text('region');
    t.text('city');
    t.text('locale');
    t.text('utm_source');
    t.text('utm_medium');
    t.text('utm_campaign');
    t.jsonb('context').comment('the full context object, for fields not promoted to columns');
  },
  users: (t) => {
    t.text('user_id').notNullable();
    t.timestamp('signed_up_at', { useTz: true });
    t.integer('birth_year');
    t.text('gender');
    t.text('plan');
    t.text('country');
    t.text('region');
    t.text('city');
    t.text('acquisition_channel');
    t.text('email');
    t.jsonb('traits');
    t.timestamp('updated_at', { useTz: true }).comment('when these traits were observed');
  },
  identities: (t) => {
    t.text('anonymous_id').notNullable();
    t.text('user_id').notNullable();
    t.timestamp('linked_at', { useTz: true });
    t.text('link_source').comment('identify | alias | event | import');
  },
  outcomes: (t) => {
    t.text('outcome_id');
    t.text('user_id');
    t.text('outcome_type').comment('purchase | upgrade | downgrade | refund | churn');
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.decimal('amount', 18, 4);
    t.text('currency');
    t.text('order_id');
    t.text('product_id');
    t.decimal('quantity', 18, 4);
    t.decimal('unit_price', 18, 4);
    t.text('plan');
    t.jsonb('properties');
  },
  costs: (t) => {
    t.text('user_id');
    t.text('account_id');
    t.date('period_start').notNullable();
    t.date('period_end').notNullable();
    t.text('cost_type').comment('compute | storage | support | ...');
    t.decimal('amount', 18, 4).notNullable();
    t.text('currency').notNullable();
  },
  survey_responses: (t) => {
    t.text('response_id');
    t.text('user_id').notNullable();
    t.text('survey').notNullable();
    t.text('question').notNullable();
    t.text('answer');
    t.timestamp('responded_at', { useTz: true }).notNullable();
  },
  experiment_assignments: (t) => {
    t.text('experiment').notNullable();
    t.text('variant').notNullable();
    t.text('user_id');
    t.text('anonymous_id');
    t.timestamp('assigned_at', { useTz: true }).notNullable();
  },
};

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create schema if not exists raw');
  for (const [name, columns] of Object.entries(tables)) {
    await knex.schema.withSchema('raw').createTable(name, (t) => {
      columns(t);
      lineage(t);
      t.index(['load_batch_id']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop schema if exists raw cascade');
}
