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
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with final as (
        select o.outcome_id, m.user_key, o.outcome_type, o.occurred_at, o.order_id, o.product_id, o.quantity, o.plan,
               o.amount, o.currency,
               case when o.outcome_type = 'churn' then 0 else round(o.amount * r.usd_per_unit, 4) end as revenue_usd,
               o.outcome_type <> 'churn' as is_revenue
        from ${ref('staging.stg_outcomes')} o
        left join ${ref('core.user_identity_map')} m on m.identity = o.user_id
        left join ${ref('core.fx_rates')} r on r.currency = coalesce(o.currency, 'USD')
      )
      select * from final`),
});
