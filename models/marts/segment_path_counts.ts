import { defineModel } from '../../src/models/model-definition.ts';
import { PATH_OUTCOMES } from './segment_paths.ts';

const KEY = 'outcome, path_length, path, definition, segment';
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
  deltaFrom: ['marts.user_paths', 'segments.membership'],
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
      counts as (
        select ${KEY}, users, converted_users, stalled_users from ${delta.this}
        union all
        -- "all users" counts every path row once: only the paths' changes move it.
        select p.outcome, p.path_length, p.path, 'all', 'all users', ${counted('p', 'p.sign')} from path_delta p
        union all
        select p.outcome, p.path_length, p.path, m.definition, m.segment, ${counted('p', 'p.sign')} from path_delta p join ${members} m using (user_key)
        union all
        -- Lateral: the changed members' paths by index (a hash join hashed every user's paths).
        select p.outcome, p.path_length, p.path, d.definition, d.segment, ${counted('p', 'd.sign')}
        from member_delta d cross join lateral (select * from ${paths} u where u.user_key = d.user_key) p
        union all
        select p.outcome, p.path_length, p.path, d.definition, d.segment, ${counted('p', '-p.sign * d.sign')} from member_delta d join path_delta p using (user_key)
      ),
      final as (
        select ${KEY}, sum(users)::bigint as users, sum(converted_users)::bigint as converted_users, sum(stalled_users)::bigint as stalled_users
        from counts group by 1, 2, 3, 4, 5
        having sum(users) <> 0
      )
      select * from final`);
  },
});
