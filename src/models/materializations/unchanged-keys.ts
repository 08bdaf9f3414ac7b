/**
 * `incremental.skipUnchanged`: before an incremental build deletes the keys its query returns and inserts the query's
 * rows, the keys whose rows come out exactly as published (the same multiset of rows, every declared column) leave
 * the staged rows, so they are neither deleted nor inserted again, tested or counted as changes. On the 20k-user build
 * bench, marts.user_paths rewrote 12-15k rows a round of which 14-61 differed.
 */
import type { Knex } from 'knex';
import type { Model } from '../model-discovery.ts';
import { netDifferenceSql } from '../model-changes.ts';
import { relationsOf } from './relations.ts';

/** Where the unchanged keys are kept for the rest of the build's transaction: stale keys among them are not deleted. */
export const UNCHANGED_KEYS = '__seglayer_unchanged';

/**
 * Removes from `staged` (the query's rows) every key whose rows equal the published ones, and keeps those keys in
 * UNCHANGED_KEYS; returns how many rows left. Rows with a null in the key stay: the key delete never matches them.
 */
export async function dropUnchangedKeys(trx: Knex.Transaction, model: Model, staged: string): Promise<number> {
  const { target } = relationsOf(model.name);
  const key = [model.incremental!.uniqueKey!].flat();
  const columns = Object.keys(model.columns);
  const keyList = key.map(() => '??').join(', ');
  const columnList = columns.map(() => '??').join(', ');
  const keyNotNull = key.map(() => '?? is not null').join(' and ');
  // Published rows of the staged keys: through the key's index as an array when there is one (one bitmap of their rows).
  const indexed = key.length === 1 && model.indexes.some((c) => c[0] === key[0]);
  const published = indexed
    ? { sql: `select ${columnList} from ${target} where ?? = any(array(select ?? from keys))`, bindings: [...columns, key[0]!, key[0]!] }
    : { sql: `select ${columnList} from ${target} where (${keyList}) in (select ${keyList} from keys)`, bindings: [...columns, ...key, ...key] };
  await trx.raw(
    `create temporary table ${UNCHANGED_KEYS} on commit drop as
     with keyed as (select * from ${staged} where ${keyNotNull}),
     keys as (select distinct ${keyList} from keyed),
     published as (${published.sql}),
     differing as (select distinct ${keyList} from (${netDifferenceSql(columns, 'published', 'keyed')}) d)   -- a row on one side only
     select ${keyList} from keys except select ${keyList} from differing`,
    [
      ...key,
      ...key,
      ...published.bindings,
      ...key, ...columns, ...columns, ...columns,
      ...key, ...key,
    ],
  );
  const { rowCount } = await trx.raw(`delete from ${staged} s using ${UNCHANGED_KEYS} u where ${key.map(() => 's.?? = u.??').join(' and ')}`, key.flatMap((k) => [k, k]));
  return rowCount ?? 0;
}
