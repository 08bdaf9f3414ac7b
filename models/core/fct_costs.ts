import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'core.fct_costs',
  description: 'Cost to serve per canonical user, period and cost type, in USD.',
  owner: 'data-platform',
  tags: ['costs'],
  // Primary key: one row per user (or account, for account-level costs), period and cost type.
  tests: [{ unique_combination: ['user_key', 'account_id', 'period_start', 'cost_type'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key (null for account-level costs)' },
    account_id: { type: 'text', description: 'Account' },
    period_start: { type: 'date', description: 'First day of the period', tests: ['not_null'] },
    period_end: { type: 'date', description: 'Last day of the period', tests: ['not_null'] },
    cost_type: { type: 'text', description: 'compute, storage, support, ...' },
    cost_usd: { type: 'numeric', description: 'Cost in USD', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      select m.user_key, c.account_id, c.period_start, c.period_end, c.cost_type, round(c.amount * r.usd_per_unit, 4) as cost_usd
      from ${ref('staging.stg_costs')} c
      left join ${ref('core.user_identity_map')} m on m.identity = c.user_id
      join ${ref('core.fx_rates')} r on r.currency = c.currency`),
});
