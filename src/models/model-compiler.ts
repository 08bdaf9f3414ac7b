/**
 * Turns a model's build() into SQL without touching the database: build runs
 * with a recording ref(), so dependencies come from what the model actually
 * reads. A ref to an unknown model is an error naming both.
 */
import knexFactory, { type Knex } from 'knex';
import type { BuildContext } from './model-definition.ts';
import type { Model } from './model-discovery.ts';
import { UserError } from '../errors/user-error.js';
import { didYouMean } from '../errors/nearest-name.ts';

/** A Knex that only compiles (no connection is ever opened). */
export const compilerKnex: Knex = knexFactory({ client: 'pg' });

export interface CompiledModel {
  sql: string;
  /** Models (or raw.* sources) the SQL reads. */
  refs: string[];
}

export class ModelCompileError extends UserError {}

const SOURCE_SCHEMAS = new Set(['raw', 'ops']);

export function quoteRelation(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}

export function compileModel(
  model: Model,
  known: ReadonlySet<string>,
  options: { incremental?: BuildContext['incremental']; appendTo?: BuildContext['appendTo']; previous?: BuildContext['previous']; delta?: BuildContext['delta']; relationFor?: (name: string) => string; knex?: Knex } = {},
): CompiledModel {
  const refs = new Set<string>();
  const knex = options.knex ?? compilerKnex;
  const context: BuildContext = {
    ref(name) {
      if (!known.has(name) && !SOURCE_SCHEMAS.has(name.split('.')[0]!)) {
        throw new ModelCompileError(`${model.file}: ${model.name} refers to "${name}", which is no model (and not a raw.* or ops.* source)${didYouMean(name, known)}`);
      }
      refs.add(name);
      return knex.raw(options.relationFor?.(name) ?? quoteRelation(name));
    },
    incremental: options.incremental,
    appendTo: options.appendTo,
    previous: options.previous,
    delta: options.delta,
  };
  let sql: string;
  try {
    const query = model.build(knex, context);
    sql = query.toQuery();
  } catch (error) {
    if (error instanceof ModelCompileError) throw error;
    throw new ModelCompileError(`${model.file}: ${model.name}: build() failed: ${(error as Error).message}`);
  }
  return { sql, refs: [...refs] };
}
