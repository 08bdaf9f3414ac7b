/**
 * `view`: the view is created beside the published one, checked and tested
 * there, then replaced in one transaction. `create or replace` keeps the
 * views that read it; when columns were removed or renamed (which it refuses),
 * the view is dropped and created, which only works when nothing depends on it.
 */
import { enforceContract } from '../column-contract.ts';
import { publishExtras, verify } from './publish.ts';
import { PhaseTimer, type Materialization } from './materialization.ts';
import { relationKind, relationsOf } from './relations.ts';

export const view: Materialization = {
  async materialize(request) {
    const { db, model, sql } = request;
    const { target, temp } = relationsOf(model.name);
    const timer = new PhaseTimer();
    await timer.time('query', async () => {
      await db.raw(`drop view if exists ${temp}`);
      await db.raw(`create view ${temp} as ${sql}`);
    });
    try {
      const skipTests = request.unchangedSincePassed || request.testsImpliedBy !== undefined;
      const tests = await timer.time('tests', async () => (skipTests ? (await enforceContract(db, model, temp), []) : verify(db, model, temp)));
      const existing = await relationKind(db, model.name);
      await timer.time('publish', () => db.transaction(async (trx) => {
        if (existing === 'table') throw new Error(`${model.name} exists as a table; drop it or materialize the model as a table`);
        try {
          await trx.raw('savepoint replace_view');
          await trx.raw(`create or replace view ${target} as ${sql}`);
        } catch (error) {
          if ((error as { code?: string }).code !== '42P16') throw error; // invalid_table_definition
          await trx.raw('rollback to savepoint replace_view');
          await trx.raw(`drop view ${target}`);
          await trx.raw(`create view ${target} as ${sql}`);
        }
        await publishExtras(trx, request);
      }));
      const action = `${existing ? 'replaced' : 'created'}${request.unchangedSincePassed ? ' (tests passed on the same rows before)' : ''}${request.testsImpliedBy ? ` (tests implied by ${request.testsImpliedBy.join(', ')})` : ''}`;
      return { rows: null, tests, action, phases: timer.phases };
    } finally {
      await db.raw(`drop view if exists ${temp}`);
    }
  },
};
