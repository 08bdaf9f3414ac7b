/**
 * `append`: the table is history. The first build creates it like a table;
 * later builds add the query's rows (the query sees the table as `appendTo`)
 * in one transaction, tested before it commits. --full-refresh does not start over.
 */
import { ensureIndexes } from './indexes.ts';
import type { Materialization } from './materialization.ts';
import { insertDelta } from './publish.ts';
import { table } from './table.ts';

export const append: Materialization = {
  async materialize(request) {
    if (!request.appendToExisting) return table.materialize(request);
    await ensureIndexes(request.db, request.model); // history published before the model declared an index gets it now
    return insertDelta(request, async () => 0, (inserted) => `appended ${inserted} rows`);
  },
};
