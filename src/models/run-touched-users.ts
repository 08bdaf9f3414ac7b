/**
 * The users new batches touch, computed once per run (issue 19): every per-user incremental model
 * computed the set again (0.1–0.25 s each at 20k users), and as a CTE the planner guessed ~14 users
 * for 2,114. A model whose build reads `incremental.touchedUsers` gets an unlogged table of them,
 * analyzed, one per run and set of new batches (a model that missed a run has more batches).
 *
 * Exact: the set is a function of the batches and of the relations touchedUserKeys reads
 * (staging.stg_events, staging.stg_identity_links, core.user_identity_map, raw sources), which every
 * such model depends on (the graph records them from compiling it without the table), so by the time
 * one starts, they are final for the run. The tables live in `ops` under the temporary prefix: dropped
 * when the run ends, and, after a run that died, with the other leftovers by the next build.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { APPENDED_FROM, appendedUsers } from '../identity/appended-users.ts';
import { batchArray, touchedUserKeys } from '../identity/touched-identities.ts';
import { TEMP_PREFIX } from './materializations/relations.ts';
import { changesRelation } from './model-changes.ts';
import { compileModel, quoteRelation } from './model-compiler.ts';
import type { DeltaContext, IncrementalContext } from './model-definition.ts';
import type { Model } from './model-discovery.ts';

/** Schema of the run's tables (always present: migrations create it). */
export const TOUCHED_USERS_SCHEMA = 'ops';

/** The models touchedUserKeys reads: once all have built in a run, the touched users are final (and can be made ahead). */
export const TOUCHED_USERS_READ = ['staging.stg_events', 'staging.stg_identity_links', 'core.user_identity_map'];

/**
 * Whether `built` (a model that just built) completes what the touched users are read from in this run: it is one of
 * TOUCHED_USERS_READ and every one of them the run selects has built successfully (`succeeded`).
 */
export const touchedUsersFinalAfter = (built: string, selected: readonly string[], succeeded: (model: string) => boolean): boolean =>
  TOUCHED_USERS_READ.includes(built) && TOUCHED_USERS_READ.every((m) => !selected.includes(m) || succeeded(m));

/**
 * Whether `model`'s build, staleKeys or replaceFrom, given `delta`, reads `incremental[field]`: asked by compiling
 * them with a probe in that field, as ref() finds dependencies.
 */
function readsRunTable(field: 'touchedUsers' | 'appendedUsers', model: Model, known: ReadonlySet<string>, incremental: IncrementalContext, delta?: DeltaContext): boolean {
  let asked = false;
  const probe = { ...incremental };
  Object.defineProperty(probe, field, { enumerable: true, get: () => ((asked = true), undefined) });
  for (const build of [model.build, model.staleKeys, model.replaceFrom?.keys]) if (build) compileModel({ ...model, build }, known, { incremental: probe, delta });
  return asked;
}

/** Whether `model` reads `incremental.touchedUsers`. */
export const readsTouchedUsers = (model: Model, known: ReadonlySet<string>, incremental: IncrementalContext): boolean =>
  readsRunTable('touchedUsers', model, known, incremental);

/** Whether `model`, given `delta`, reads `incremental.appendedUsers`. */
export const readsAppendedUsers = (model: Model, known: ReadonlySet<string>, incremental: IncrementalContext, delta: DeltaContext): boolean =>
  readsRunTable('appendedUsers', model, known, incremental, delta);

/**
 * The run's user sets: the users new batches touch, and (once core.fct_events and the identity map published this
 * run's changes) the appended users among them (src/identity/appended-users.ts). One table per set of batches each.
 */
export class RunTouchedUsers {
  private readonly tables = new Map<string, Promise<string>>();
  private readonly created = new Set<string>();

  constructor(
    private readonly knex: Knex,
    private readonly runId: string,
  ) {}

  /** The table (quoted name) of the user keys `batches` touch, created on first use. A name, not a Knex.Raw: that is a thenable, which `await` would run. */
  async of(batches: number[]): Promise<string> {
    return this.once('touched_users', batches, (ref, array) => touchedUserKeys(ref, array));
  }

  /**
   * The table of the users whose only change is new events after their stored ones, for a model given a delta from
   * core.fct_events and the identity map: their kept changes are then this run's, the same for every such model.
   */
  async appendedOf(batches: number[]): Promise<string> {
    const [events, identities] = APPENDED_FROM.map((m) => this.knex.raw(changesRelation(m)));
    const changes = { events: events!, identities: identities! };
    return this.once('appended_users', batches, (ref, array) => appendedUsers(ref, changes, array));
  }

  private once(kind: string, batches: number[], query: (ref: (name: string) => Knex.Raw, batches: Knex.Raw) => string): Promise<string> {
    const key = `${kind}:${[...batches].sort((a, b) => a - b).join(',')}`;
    let table = this.tables.get(key);
    if (!table) {
      table = this.create(kind, key, query(this.ref, batchArray(this.knex, batches)));
      this.tables.set(key, table);
      table.catch(() => this.tables.delete(key)); // a failed creation is tried again by the next model
    }
    return table;
  }

  private readonly ref = (name: string) => this.knex.raw(quoteRelation(name));

  private async create(kind: string, key: string, query: string): Promise<string> {
    const suffix = createHash('sha256').update(`${this.runId}:${key}`).digest('hex').slice(0, 16);
    const table = quoteRelation(`${TOUCHED_USERS_SCHEMA}.${TEMP_PREFIX}${kind}_${suffix}`);
    this.created.add(table);
    await this.knex.raw(`drop table if exists ${table}`);
    await this.knex.raw(`create unlogged table ${table} as ${query}`);
    await this.knex.raw(`analyze ${table}`);
    return table;
  }

  /** Drops the run's tables (those a failed creation left too), once no creation is under way. */
  async drop(): Promise<void> {
    await Promise.allSettled(this.tables.values());
    this.tables.clear();
    for (const table of this.created) await this.knex.raw(`drop table if exists ${table}`);
    this.created.clear();
  }
}
