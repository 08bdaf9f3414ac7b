/**
 * `incremental`: deletes the rebuilt window (windowColumn >= since) and
 * inserts the query's rows in one transaction, tested before it commits.
 * Without a window (first build, --full-refresh) it builds like a table.
 */
import type { Materialization } from './materialization.ts';
import { insertDelta } from './publish.ts';
import { relationsOf } from './relations.ts';
import { table } from './table.ts';

export const incremental: Materialization = {
  async materialize(request) {
    const since = request.incrementalSince;
    if (!since) return table.materialize(request);
    const { target } = relationsOf(request.model.name);
    const column = request.model.incremental!.windowColumn;
    return insertDelta(
      request,
      async (trx) => void (await trx.raw(`delete from ${target} where ?? >= ?`, [column, since])),
      (inserted) => `incremental: ${inserted} rows since ${since.toISOString()}`,
    );
  },
};
