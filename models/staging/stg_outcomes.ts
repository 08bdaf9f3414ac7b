import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';

/** A function of the project: what counts as an order line is configuration (SEGLAYER_ORDER_TYPES, SEGLAYER_ORDER_NEEDS_REVENUE). */
export default (project: ProjectContent) => defineModel({
  name: 'staging.stg_outcomes',
  description:
    'Typed outcomes. Amount is taken as sent, or quantity x unit price; an outcome without a type is a refund when its order id starts with C or its quantity is negative (the Online Retail convention), else a purchase.',
  owner: 'data-platform',
  tags: ['outcomes'],
  // Its order settings (SEGLAYER_ORDER_TYPES, ..._NEEDS_REVENUE) decide is_order for every outcome ever loaded.
  reference: true,
  columns: {
    outcome_id: { type: 'text', description: 'Outcome id; derived from batch and row when the source has none', tests: ['not_null', 'unique'] },
    user_id: { type: 'text', description: 'User id (null for guest orders)' },
    outcome_type: { type: 'text', description: 'purchase, upgrade, downgrade, refund, churn', tests: ['not_null', { accepted_values: ['purchase', 'upgrade', 'downgrade', 'refund', 'churn'] }] },
    occurred_at: { type: 'timestamptz', description: 'When it happened', tests: ['not_null'] },
    amount: { type: 'numeric', description: 'Amount in the original currency; negative for refunds' },
    currency: { type: 'text', description: 'ISO currency code' },
    order_id: { type: 'text', description: 'Order / invoice' },
    product_id: { type: 'text', description: 'Product / SKU' },
    quantity: { type: 'numeric', description: 'Quantity' },
    plan: { type: 'text', description: 'Plan involved (upgrades, downgrades)' },
    properties: { type: 'jsonb', description: 'Other source fields' },
    is_order: { type: 'boolean', description: 'An order line: an outcome type configured as an order (SEGLAYER_ORDER_TYPES, default purchase and upgrade) with a positive amount (price > 0) unless SEGLAYER_ORDER_NEEDS_REVENUE=false', tests: ['not_null'] },
    user_traits: { type: 'jsonb', description: 'User traits mapped from the row by the load mapping (`user_traits` in a mapping file), kept under properties.user_traits' },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with typed as (
        select coalesce(nullif(trim(outcome_id), ''), 'b' || load_batch_id || '-r' || source_row_number) as outcome_id,
               nullif(trim(user_id), '') as user_id,
               coalesce(lower(nullif(trim(outcome_type), '')),
                        case when order_id like 'C%' or quantity < 0 then 'refund' else 'purchase' end) as outcome_type,
               occurred_at,
               coalesce(amount, quantity * unit_price) as amount,
               upper(nullif(trim(currency), '')) as currency,
               nullif(trim(order_id), '') as order_id,
               nullif(trim(product_id), '') as product_id,
               quantity, nullif(trim(plan), '') as plan, properties
        from ${ref('raw.outcomes')}
      ),
      final as (
        select outcome_id, user_id, outcome_type, occurred_at,
               case when outcome_type = 'refund' then -abs(amount) else amount end as amount,
               currency, order_id, product_id, quantity, plan, properties,
               case when jsonb_typeof(properties -> 'user_traits') = 'object' then properties -> 'user_traits' end as user_traits,
               outcome_type = any(?::text[]) and (not ?::boolean or coalesce(amount, 0) > 0) as is_order
        from typed
      )
      select * from final`, [project.settings.orders.types, project.settings.orders.needsRevenue]),
});
