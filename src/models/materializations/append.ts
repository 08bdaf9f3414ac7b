/**
 * `append`: the table is history. The first build creates it like a table;
 * later builds add the query's rows (the query sees the table as `appendTo`)
 * in one transaction, tested before it commits. --full-refresh does not start over.
 */
import type { Materialization } from './materialization.ts';
import { insertDelta } from './publish.ts';
import { table } from './table.ts';

export const append: Materialization = {
  async materialize(request) {
    if (!request.appendToExisting) return table.materialize(request);
    return insertDelta(request, async () => 0, (inserted) => `appended ${inserted} rows`);
  },
};
