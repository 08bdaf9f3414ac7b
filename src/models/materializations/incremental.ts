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
        if (uniqueKey) replaced.push('?? in (select ?? from __seglayer_delta)'), bindings.push(uniqueKey, uniqueKey);
        if (uniqueKey && run.staleKeysSql) replaced.push(`?? in (select stale.?? from (${run.staleKeysSql}) stale)`), bindings.push(uniqueKey, uniqueKey);
        if (replaced.length) await trx.raw(`delete from ${target} where ${replaced.join(' or ')}`, bindings);
      },
      (inserted) => `incremental: ${inserted} rows${run.since ? ` since ${run.since.toISOString()}` : ''}${uniqueKey ? ` by ${uniqueKey}` : ''}`,
    );
  },
};
