/**
 * `table`: built beside the published table (`__seglayer_tmp_<name>`), checked
 * and tested there, then swapped in with one transaction. Also the first build
 * (and --full-refresh) of incremental models and the first build of append models.
 */
import { settleAll } from '../column-tests.ts';
import { keepTableChanges, stagedChangesRelation, stageTableDiff } from '../model-changes.ts';
import { indexTemporary, renameSwappedIndexes } from './indexes.ts';
import { PhaseTimer, type Materialization } from './materialization.ts';
import { publishExtras, swapIn, verify } from './publish.ts';
import { relationKind, relationsOf, TEMP_PREFIX } from './relations.ts';
import { analyze, carryStatistics } from './statistics.ts';

export const table: Materialization = {
  async materialize(request) {
    const { db, model, sql } = request;
    const { schema, table: name, temp } = relationsOf(model.name);
    const timer = new PhaseTimer();
    // What is published now, read once (the build lock keeps it so): whose statistics to take, what to swap out.
    const existing = await timer.time('publish', () => relationKind(db, model.name));
    const created = await timer.time('query', async () => {
      await db.raw(`drop table if exists ${temp} cascade`);
      const created = await db.raw(`create table ${temp} as ${sql}`);
      await indexTemporary(db, model);
      // Planner statistics now, not when autovacuum gets round to it: the next model in the
      // same build joins this table, and a never-analysed table is estimated at a handful of
      // rows, which turns hash joins into nested loops that rescan their inner side per row.
      // A table replacing the published one row for row takes its statistics instead (statistics.ts).
      if (request.carryStatistics && existing === 'table') {
        await carryStatistics(db, model.name, `${schema}.${TEMP_PREFIX}${name}`, Number(created.rowCount));
      } else await analyze(db, temp);
      return created;
    });
    // Kept changes of a replaced table: its diff with the new one, staged beside the tests on another connection
    // (timed with them: the phase is their wall time), taken in by the publishing transaction.
    const diff = request.keepChanges !== undefined && existing === 'table' && (model.materialized === 'table' || request.keepChanges.diffWhole === true);
    try {
      const [tests] = await timer.time('tests', () => settleAll([verify(db, model, temp), diff ? stageTableDiff(db, model, temp) : Promise.resolve()]));
      await timer.time('publish', async () => {
        await db.transaction(async (trx) => {
          if (request.keepChanges) await keepTableChanges(trx, model, request.keepChanges.runId, diff, temp);
          await swapIn(trx, model.name, existing);
          await renameSwappedIndexes(trx, model);
          await publishExtras(trx, request, Number(created.rowCount));
        });
      });
      return { rows: Number(created.rowCount), tests, action: existing === 'table' ? 'swapped' : 'created', phases: timer.phases };
    } finally {
      await db.raw(`drop table if exists ${temp} cascade`);
      if (diff) await db.raw(`drop table if exists ${stagedChangesRelation(model.name)}`);
    }
  },
};
