import { defineModel } from '../../src/models/model-definition.ts';
import { PATH_OUTCOMES } from './segment_paths.ts';

const CELL = ['outcome', 'path_length', 'path', 'definition', 'segment'];
const KEY = CELL.join(', ');
/** The signed counts a path row adds (sign 1) or takes away (-1). */
const counted = (path: string, sign: string) =>
  `${sign} as users, case when ${path}.converted then ${sign} else 0 end as converted_users, case when ${path}.converted then 0 else ${sign} end as stalled_users`;

/**
 * The sum over users behind marts.segment_paths: users per path, outcome, length and segment
 * (current membership, segments.membership, and "all users": everyone with a path), converted
 * and stalled, for every path (segment_paths keeps the top ones and adds shares, lift and CIs).
 * Updated by delta from the changes marts.user_paths and segments.membership keep, when the
 * runner allows (src/models/model-changes.ts): with P a user's paths and S their segments,
 * P'S' − PS = dP·S' + P'·dS − dP·dS over the net changes; otherwise counted from every user.
 * Incremental by cell: a delta writes only the cells it changes (a cell down to no users is a
 * tombstone, deleted), where a swap rewrote all 45k cells on the 20k build bench for a few hundred;
 * counted from every user, every published cell is replaced.
 */
export default defineModel({
  name: 'marts.segment_path_counts',
  description: `Users whose path (last 1–4 consecutive distinct events before an outcome: ${PATH_OUTCOMES.join(', ')}) this is, per segment ("all users" for everyone with a path), and how many of them converted or stalled: every path, before marts.segment_paths keeps the top ones.`,
  owner: 'data-platform',
  tags: ['marts', 'segments'],
  tests: [{ unique_combination: ['outcome', 'path_length', 'path', 'definition', 'segment'] }],
  columns: {
    outcome: { type: 'text', description: 'Outcome kind the path leads to (or stalls before)', tests: ['not_null', { accepted_values: [...PATH_OUTCOMES] }] },
    path_length: { type: 'integer', description: 'Events in the path', tests: ['not_null'] },
    path: { type: 'text', description: 'Events in order', tests: ['not_null'] },
    definition: { type: 'text', description: 'Segment definition (current membership); "all" for everyone', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment; "all users" for everyone', tests: ['not_null'] },
    users: { type: 'bigint', description: 'Users whose path this is', tests: ['not_null', { expression: 'users > 0' }] },
    converted_users: { type: 'bigint', description: 'Of them, users who reached the outcome', tests: ['not_null', { expression: 'converted_users >= 0' }] },
    stalled_users: { type: 'bigint', description: 'Of them, users who never reached it', tests: ['not_null', { expression: 'stalled_users >= 0 and converted_users + stalled_users = users' }] },
  },
  materialized: 'incremental',
  incremental: { uniqueKey: CELL, tombstoneWhere: 'users = 0' },
  indexes: [CELL],
  deltaFrom: ['marts.user_paths', 'segments.membership'],
  staleKeys: (knex, { incremental, delta }) => knex.raw(`select ${KEY} from ${incremental!.this}${delta ? ' where false' : ''}`),
  build: (knex, { ref, delta }) => {
    const paths = ref('marts.user_paths');
    const members = ref('segments.membership');
    if (!delta) {
      return knex.raw(`
        with user_paths as (select * from ${paths}),
        groups as (
          select user_key, definition, segment from ${members}
          union all
          select distinct user_key, 'all', 'all users' from user_paths
        ),
        final as (
          select p.outcome, p.path_length, p.path, g.definition, g.segment, count(*) as users,
                 count(*) filter (where p.converted) as converted_users, count(*) filter (where not p.converted) as stalled_users
          from user_paths p join groups g using (user_key)
          group by 1, 2, 3, 4, 5
        )
        select * from final`);
    }
    const net = (changes: unknown, columns: string) =>
      `select ${columns}, sum(case when change = 'added' then 1 else -1 end) as sign from ${changes} group by ${columns} having sum(case when change = 'added' then 1 else -1 end) <> 0`;
    return knex.raw(`
      with path_delta as materialized (${net(delta.changes['marts.user_paths'], 'user_key, outcome, path_length, path, converted')}),
      member_delta as materialized (${net(delta.changes['segments.membership'], 'user_key, definition, segment')}),
      counts as (   -- what the changes add to each cell
        -- "all users" counts every path row once: only the paths' changes move it.
        select p.outcome, p.path_length, p.path, 'all' as definition, 'all users' as segment, ${counted('p', 'p.sign')} from path_delta p
        union all
        select p.outcome, p.path_length, p.path, m.definition, m.segment, ${counted('p', 'p.sign')} from path_delta p join ${members} m using (user_key)
        union all
        -- Lateral: the changed members' paths by index (a hash join hashed every user's paths).
        select p.outcome, p.path_length, p.path, d.definition, d.segment, ${counted('p', 'd.sign')}
        from member_delta d cross join lateral (select * from ${paths} u where u.user_key = d.user_key) p
        union all
        select p.outcome, p.path_length, p.path, d.definition, d.segment, ${counted('p', '-p.sign * d.sign')} from member_delta d join path_delta p using (user_key)
      ),
      changed as (
        select ${KEY}, sum(users) as users, sum(converted_users) as converted_users, sum(stalled_users) as stalled_users
        from counts group by 1, 2, 3, 4, 5
        having sum(users) <> 0 or sum(converted_users) <> 0 or sum(stalled_users) <> 0
      ),
      -- The changed cells as published plus the change (users = 0: a tombstone, the cell is deleted).
      final as (
        select ${CELL.map((c) => `c.${c}`).join(', ')}, (coalesce(p.users, 0) + c.users)::bigint as users,
               (coalesce(p.converted_users, 0) + c.converted_users)::bigint as converted_users,
               (coalesce(p.stalled_users, 0) + c.stalled_users)::bigint as stalled_users
        from changed c left join ${delta.this} p using (${KEY})
      )
      select * from final`);
  },
});
