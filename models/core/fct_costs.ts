import { batchArray } from '../../src/identity/touched-identities.ts';
import type { DeltaContext } from '../../src/models/model-definition.ts';
import { defineModel } from '../../src/models/model-definition.ts';

const MAP = 'core.user_identity_map';
const RATES = 'core.fx_rates';

/*
 * Incremental by cost line (issue 19): a line's row follows from the staged line, the identity
 * map's key for its user id and the rate of its currency, nothing else. So a build types the
 * lines of new batches, re-keys the stored rows of the identities whose key the map changed in
 * this run (its kept changes: merges, an id first known now), and re-derives every line when a
 * rate changed (the seed) or those changes do not follow what the table was built from (a run
 * that skipped it): then every stored line is stale too, since a line whose currency lost its
 * rate leaves the table. Account-level lines (no user id) never change key. A reverted batch
 * rebuilds in full.
 */
/** With kept changes: whether a rate changed (every line is re-derived then). */
const ratesChanged = (delta: DeltaContext) => `exists (select 1 from ${delta.changes[RATES]})`;

export default defineModel({
  name: 'core.fct_costs',
  description: 'Cost to serve per canonical user, period and cost type, in USD.',
  owner: 'data-platform',
  tags: ['costs'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'cost_id' },
  keepChanges: { columns: ['user_key', 'period_start', 'period_end', 'cost_usd'] }, // marts.segment_daily recounts from the first day changed
  deltaFrom: [MAP, RATES],
  // The key delete, the re-keying by user id, and per-user readers (features.user_facts).
  indexes: [['cost_id'], ['user_id'], ['user_key']],
  // Primary key: cost_id, one row per staged line; staging.stg_costs tests the lines unique per user id, account,
  // period and cost type (here it would read the whole table for each increment). Not per user_key: two ids merged
  // into one user share it, as do ids the identity map does not know (null).
  columns: {
    cost_id: { type: 'text', description: 'The cost line: batch and source row it was loaded from (batch:row)', tests: ['not_null', 'unique'] },
    user_key: { type: 'text', description: 'Canonical user key (null for account-level costs)' },
    user_id: { type: 'text', description: 'User id the cost line names (null for account-level costs)' },
    account_id: { type: 'text', description: 'Account' },
    period_start: { type: 'date', description: 'First day of the period', tests: ['not_null'] },
    period_end: { type: 'date', description: 'Last day of the period', tests: ['not_null'] },
    cost_type: { type: 'text', description: 'compute, storage, support, ...' },
    cost_usd: { type: 'numeric', description: 'Cost in USD', tests: ['not_null'] },
  },
  // Lines re-derived from scratch replace every stored one (a line whose currency lost its rate goes).
  staleKeys: (knex, { incremental, delta }) =>
    knex.raw(`select cost_id from ${incremental!.this} where ${delta ? ratesChanged(delta) : 'true'}`),
  build: (knex, { ref, incremental, delta }) => {
    const typed = (where: string) => `
        select c.load_batch_id || ':' || c.source_row_number as cost_id, m.user_key, c.user_id, c.account_id, c.period_start, c.period_end, c.cost_type,
               round(c.amount * r.usd_per_unit, 4) as cost_usd
        from ${ref('staging.stg_costs')} c
        left join ${ref(MAP)} m on m.identity = c.user_id
        join ${ref(RATES)} r on r.currency = c.currency
        ${where}`;
    if (!incremental || !delta) return knex.raw(typed(''));
    return knex.raw(`
      with final as (${typed(`where ${ratesChanged(delta)}`)}
        union all${typed(`where not ${ratesChanged(delta)} and c.load_batch_id = any(${batchArray(knex, incremental.newBatches)})`)}
        union all   -- stored lines whose user id the map keys otherwise now: only their key changes
        select t.cost_id, m.user_key, t.user_id, t.account_id, t.period_start, t.period_end, t.cost_type, t.cost_usd
        from ${incremental.this} t
        left join ${ref(MAP)} m on m.identity = t.user_id
        where not ${ratesChanged(delta)} and t.user_id = any(array(select identity from ${delta.changes[MAP]}))
      )
      select * from final`);
  },
});
