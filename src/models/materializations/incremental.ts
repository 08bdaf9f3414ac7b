/**
 * `incremental`: deletes what the run rebuilds and inserts the query's rows in
 * one transaction, tested before it commits. What is rebuilt: the window
 * (windowColumn >= since), the published rows whose uniqueKey the query returns
 * again, and the keys the model's staleKeys query says no longer exist. Without
 * an incremental run (first build, --full-refresh) it builds like a table.
 */
import type { Knex } from 'knex';
import { ensureIndexes } from './indexes.ts';
import type { Materialization } from './materialization.ts';
import { netChangesBindings, netChangesInsert, stampChanges, startChanges } from '../model-changes.ts';
import { insertDelta } from './publish.ts';
import { relationsOf } from './relations.ts';
import { table } from './table.ts';

export const incremental: Materialization = {
  async materialize(request) {
    const run = request.incremental;
    if (!run) return table.materialize(request);
    const { target } = relationsOf(request.model.name);
    const { windowColumn, uniqueKey } = request.model.incremental!;
    await ensureIndexes(request.db, request.model);
    return insertDelta(
      request,
      async (trx) => {
        const replaced: string[] = [];
        const bindings: Knex.RawBinding[] = [];
        if (windowColumn && run.since) replaced.push('?? >= ?'), bindings.push(windowColumn, run.since);
        // With an index led by the key, `= any(array(...))`: the planner ORs the index scans of
        // the window and the keys into one bitmap; an `in (select ...)` in the `or` made it scan
        // the whole table (fct_events at 1.2M rows: 0.76 s against 1.29 s). Without one, the
        // array would be compared with every row: a hashed `in` then.
        const keyIn = (subquery: string) =>
          request.model.indexes.some((columns) => columns[0] === uniqueKey) ? `?? = any(array(${subquery}))` : `?? in (${subquery})`;
        if (uniqueKey) replaced.push(keyIn('select ?? from __seglayer_delta')), bindings.push(uniqueKey, uniqueKey);
        if (uniqueKey && run.staleKeysSql) replaced.push(keyIn(`select stale.?? from (${run.staleKeysSql}) stale`)), bindings.push(uniqueKey, uniqueKey);
        if (!request.keepChanges) {
          if (!replaced.length) return 0;
          return Number((await trx.raw(`delete from ${target} where ${replaced.join(' or ')}`, bindings)).rowCount);
        }
        // Kept changes: the net difference of the deleted rows and the new ones, in the delete's statement
        // (a touched key's rows mostly come back unchanged: those cancel instead of being written twice).
        const { model } = request;
        await startChanges(trx, model, '__seglayer_delta');
        const gone = replaced.length ? `delete from ${target} where ${replaced.join(' or ')} returning *` : `select * from ${target} where false`;
        const { rows } = await trx.raw(
          `with gone as (${gone}), kept as (${netChangesInsert(model, 'gone', '__seglayer_delta')}) select count(*)::bigint as n from gone`,
          [...bindings, ...netChangesBindings(model)],
        );
        await stampChanges(trx, model.name, request.keepChanges.runId, true);
        const deleted = Number(rows[0].n);
        return deleted;
      },
      (inserted) => `incremental: ${inserted} rows${run.since ? ` since ${run.since.toISOString()}` : ''}${uniqueKey ? ` by ${uniqueKey}` : ''}`,
    );
  },
};
