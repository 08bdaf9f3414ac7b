import { batchArray } from '../../src/identity/touched-identities.ts';
import type { DeltaContext } from '../../src/models/model-definition.ts';
import { defineModel } from '../../src/models/model-definition.ts';

const MAP = 'core.user_identity_map';
const RATES = 'core.fx_rates';

/*
 * Incremental by outcome (issue 19): an outcome's row follows from the staged outcome, the identity
 * map's key for its user id and the rate of its currency, nothing else. So a build adds the staged
 * outcomes the table does not hold yet (staging.stg_outcomes tests outcome_id unique, and raw rows
 * only come and go by batch, a revert rebuilding in full), re-derives those whose user id the map
 * keys otherwise in this run (its kept changes), and every outcome when a rate changed or those
 * changes do not follow what the table was built from (a run that skipped it), as core.fct_costs does.
 */
/** With kept changes: whether a rate changed (every outcome is re-derived then). */
const ratesChanged = (delta: DeltaContext) => `exists (select 1 from ${delta.changes[RATES]})`;

export default defineModel({
  name: 'core.fct_outcomes',
  description: 'Purchases, upgrades, downgrades, refunds and churn per canonical user, with revenue in USD (refunds negative).',
  owner: 'data-platform',
  tags: ['outcomes', 'revenue'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'outcome_id' },
  deltaFrom: [MAP, RATES],
  indexes: [['outcome_id']], // the key delete and the anti-join finding new outcomes
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
  // Outcomes re-derived from scratch replace every stored one (an outcome whose currency lost its rate loses its revenue).
  staleKeys: (knex, { incremental, delta }) =>
    knex.raw(`select outcome_id from ${incremental!.this} where ${delta ? ratesChanged(delta) : 'true'}`),
  build: (knex, { ref, incremental, delta }) => {
    // New outcomes and those of re-keyed user ids: one pass over the staged outcomes, a left join to the stored ones.
    const scope = incremental && delta
      ? `left join ${incremental.this} t on t.outcome_id = o.outcome_id
        where (${ratesChanged(delta)} or t.outcome_id is null or o.user_id in (select identity from ${delta.changes[MAP]}))
          -- a one-time filter: no staged outcome is read when no batch brings one, no key and no rate changed
          and (${ratesChanged(delta)} or exists (select from ${ref('raw.outcomes')} where load_batch_id = any(${batchArray(knex, incremental.newBatches)}))
               or exists (select from ${delta.changes[MAP]}))`
      : '';
    return knex.raw(`
      with final as (
        select o.outcome_id, m.user_key, o.outcome_type, o.occurred_at, o.order_id, o.product_id, o.quantity, o.plan,
               o.amount, o.currency,
               case when o.outcome_type = 'churn' then 0 else round(o.amount * r.usd_per_unit, 4) end as revenue_usd,
               o.outcome_type <> 'churn' as is_revenue,
               o.is_order, m.user_key is not null as is_identified, o.user_traits
        from ${ref('staging.stg_outcomes')} o
        left join ${ref(MAP)} m on m.identity = o.user_id
        left join ${ref(RATES)} r on r.currency = coalesce(o.currency, 'USD')
        ${scope}
      )
      select * from final`);
  },
});
