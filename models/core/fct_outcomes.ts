import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'core.fct_outcomes',
  description: 'Purchases, upgrades, downgrades, refunds and churn per canonical user, with revenue in USD (refunds negative).',
  owner: 'data-platform',
  tags: ['outcomes', 'revenue'],
  columns: {
    outcome_id: { type: 'text', description: 'Outcome id', tests: ['not_null', 'unique'] },
    user_key: { type: 'text', description: 'Canonical user key (null for guest orders)', tests: [{ relationships: { to: 'core.dim_users', field: 'user_key' } }] },
    outcome_type: { type: 'text', description: 'purchase, upgrade, downgrade, refund, churn', tests: ['not_null'] },
    occurred_at: { type: 'timestamptz', description: 'When it happened', tests: ['not_null'] },
    order_id: { type: 'text', description: 'Order / invoice' },
    product_id: { type: 'text', description: 'Product / SKU' },
    quantity: { type: 'numeric', description: 'Quantity' },
    plan: { type: 'text', description: 'Plan involved' },
    amount: { type: 'numeric', description: 'Amount in the original currency' },
    currency: { type: 'text', description: 'Original currency' },
    revenue_usd: { type: 'numeric', description: 'Revenue in USD: amount x reference rate; 0 for churn', tests: [{ expression: "outcome_type = 'churn' or amount is null or revenue_usd is not null" }] },
    is_revenue: { type: 'boolean', description: 'True for purchases, upgrades, downgrades and refunds' },
    is_order: { type: 'boolean', description: 'An order line as configured (staging.stg_outcomes.is_order)', tests: ['not_null'] },
    is_identified: { type: 'boolean', description: 'The outcome belongs to a known user; false for guest orders', tests: ['not_null'] },
    user_traits: { type: 'jsonb', description: 'User traits the load mapping took from this row (mapping file `user_traits`), e.g. {"country": "France"}' },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with final as (
        select o.outcome_id, m.user_key, o.outcome_type, o.occurred_at, o.order_id, o.product_id, o.quantity, o.plan,
               o.amount, o.currency,
               case when o.outcome_type = 'churn' then 0 else round(o.amount * r.usd_per_unit, 4) end as revenue_usd,
               o.outcome_type <> 'churn' as is_revenue,
               o.is_order, m.user_key is not null as is_identified, o.user_traits
        from ${ref('staging.stg_outcomes')} o
        left join ${ref('core.user_identity_map')} m on m.identity = o.user_id
        left join ${ref('core.fx_rates')} r on r.currency = coalesce(o.currency, 'USD')
      )
      select * from final`),
});
