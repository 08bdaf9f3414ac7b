import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'staging.stg_costs',
  description: 'Cost to serve per user (or account) and period, trimmed and typed.',
  owner: 'data-platform',
  tags: ['costs'],
  // Primary key: one row per user (or account, for account-level costs), period and cost type.
  tests: [{ unique_combination: ['user_id', 'account_id', 'period_start', 'cost_type'] }],
  columns: {
    user_id: { type: 'text', description: 'User the cost is attributed to' },
    account_id: { type: 'text', description: 'Account, when costs are per account' },
    period_start: { type: 'date', description: 'First day of the period', tests: ['not_null'] },
    period_end: { type: 'date', description: 'Last day of the period', tests: ['not_null', { expression: 'period_end >= period_start' }] },
    cost_type: { type: 'text', description: 'compute, storage, support, ...' },
    amount: { type: 'numeric', description: 'Cost in the original currency', tests: ['not_null'] },
    currency: { type: 'text', description: 'ISO currency code', tests: ['not_null'] },
    load_batch_id: { type: 'bigint', description: 'Batch that loaded the cost line', tests: ['not_null'] },
    source_row_number: { type: 'bigint', description: 'Row of the cost line in its source file', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      select nullif(trim(user_id), '') as user_id, nullif(trim(account_id), '') as account_id, period_start, period_end,
             lower(nullif(trim(cost_type), '')) as cost_type, amount, upper(trim(currency)) as currency,
             load_batch_id, source_row_number
      from ${ref('raw.costs')}`),
});
