import type { Knex } from 'knex';
import { batchArray } from '../../src/identity/touched-identities.ts';
import type { BuildContext, DeltaContext, IncrementalContext } from '../../src/models/model-definition.ts';
import { defineModel } from '../../src/models/model-definition.ts';

const MAP = 'core.user_identity_map';

/*
 * Incremental by user_key (issue 19): a user's first exposures follow from the staged assignments
 * of their identities and the identity map, nothing else. A staged assignment resolves to the key
 * of its user id, else of its anonymous id, so its row can move when a new assignment joins its
 * subject (the first exposure, and so the anonymous id, may change) or when the map keys one of its
 * identities otherwise in this run (its kept changes; also an id it knows at last, which takes the
 * row from the anonymous id's key). So a build recomputes, from all their assignments, the users
 * of every identity an assignment shares with those identities, and the keys those changes
 * removed. Without changes that follow what the table was built from (a run that skipped it),
 * every user. A reverted batch rebuilds in full.
 */
const changedUsers = (knex: Knex, ref: BuildContext['ref'], incremental: IncrementalContext, delta: DeltaContext) => {
  const ids = `select i.id from ${ref('raw.experiment_assignments')} n, unnest(array[trim(n.user_id), trim(n.anonymous_id)]) as i(id)
    where n.load_batch_id = any(${batchArray(knex, incremental.newBatches)})
    union all select identity from ${delta.changes[MAP]}`;
  return `
  select m.user_key
  from (select trim(user_id) as user_id, trim(anonymous_id) as anonymous_id from ${ref('raw.experiment_assignments')}) a
  join ${ref(MAP)} m on m.identity in (a.user_id, a.anonymous_id)
  where exists (${ids}) and (a.user_id in (${ids}) or a.anonymous_id in (${ids}))
  union select user_key from ${delta.changes[MAP]}`;
};

export default defineModel({
  name: 'core.fct_experiment_assignments',
  description: 'First exposure of each canonical user to each experiment, whether assigned as a user or before identification.',
  owner: 'data-platform',
  tags: ['experiments'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  deltaFrom: [MAP],
  // marts.experiment_user_metrics recomputes the users whose exposures these changes name, instead of comparing them all.
  keepChanges: {},
  indexes: [['user_key']],
  tests: [{ unique_combination: ['experiment', 'user_key'] }],
  columns: {
    experiment: { type: 'text', description: 'Experiment key', tests: ['not_null'] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    variant: { type: 'text', description: 'Variant of the first exposure', tests: ['not_null'] },
    assigned_at: { type: 'timestamptz', description: 'First exposure', tests: ['not_null'] },
    variant_count: { type: 'integer', description: 'Distinct variants this user was assigned under any of their identities; above 1 the user saw two variants and is excluded from analysis (and counted)', tests: ['not_null'] },
  },
  // The changed users' rows go, also those left with none (a key merged into another); without changes, every stored row.
  staleKeys: (knex, { ref, incremental, delta }) =>
    knex.raw(delta ? changedUsers(knex, ref, incremental!, delta) : `select user_key from ${incremental!.this}`),
  build: (knex, { ref, incremental, delta }) => {
    // A staged assignment resolves to the key of its user id or of its anonymous id, so one of them is an identity of a
    // changed user; semi-joins (an `= any(array(...))` compares each row with every identity in turn).
    const changed = incremental && delta
      ? `with changed as materialized (${changedUsers(knex, ref, incremental, delta)}),
        identities as materialized (select identity from ${ref(MAP)} where user_key in (select user_key from changed)),`
      : 'with';
    const scope = incremental && delta
      ? `and exists (select from changed)   -- a one-time filter: no staged assignment is read when nobody changed
          and (a.user_id in (select identity from identities) or a.anonymous_id in (select identity from identities))
          and coalesce(u.user_key, n.user_key) in (select user_key from changed)`
      : '';
    return knex.raw(`
      ${changed} resolved as (
        select a.experiment, coalesce(u.user_key, n.user_key) as user_key, a.variant, a.assigned_at, a.user_id, a.anonymous_id, a.variants_seen
        from ${ref('staging.stg_experiment_assignments')} a
        left join ${ref(MAP)} u on u.identity = a.user_id
        left join ${ref(MAP)} n on n.identity = a.anonymous_id
        where coalesce(u.user_key, n.user_key) is not null
        ${scope}
      )
      -- One grouped pass over the unnested variants: the first exposure by the same order as
      -- before, and the distinct variants seen under any identity.
      select experiment, user_key,
             (array_agg(variant order by assigned_at, variant, user_id, anonymous_id))[1] as variant,
             min(assigned_at) as assigned_at,
             count(distinct seen)::int as variant_count
      from resolved cross join lateral unnest(variants_seen) as seen
      group by experiment, user_key`);
  },
});
