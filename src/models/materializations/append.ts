/**
 * `append`: the table is history. The first build creates it like a table;
 * later builds add the query's rows (the query sees the table as `appendTo`)
 * in one transaction, tested before it commits. --full-refresh does not start over.
 * With keepChanges, the appended rows are its changes (all added).
 */
import type { Knex } from 'knex';
import { keepAppended } from '../model-changes.ts';
import { ensureIndexes } from './indexes.ts';
import type { Materialization } from './materialization.ts';
import { insertDelta } from './publish.ts';
import { table } from './table.ts';

export const append: Materialization = {
  async materialize(request) {
    if (!request.appendToExisting) return table.materialize(request);
    await ensureIndexes(request.db, request.model); // history published before the model declared an index gets it now
    const { keepChanges, model } = request;
    const prepare = async (trx: Knex.Transaction) => {
      if (keepChanges) await keepAppended(trx, model, keepChanges.runId, '__seglayer_delta');
      return 0; // nothing deleted
    };
    return insertDelta(request, prepare, (inserted) => `appended ${inserted} rows`);
  },
};
