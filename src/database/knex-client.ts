/** One way to make a Knex instance for the warehouse, so pool and type settings agree everywhere. */
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// bigint (count(*), sums) comes back as a JS number when it fits; exact numerics stay strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
});

export interface KnexOptions {
  min?: number;
  max?: number;
  /** work_mem for every connection of the pool (build sessions sort and hash a lot). */
  workMem?: string;
}

export function createKnex(url: string, options: KnexOptions = {}): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: url, application_name: 'seglayer' },
    pool: {
      min: options.min ?? 0,
      max: options.max ?? 4,
      ...(options.workMem && {
        afterCreate: (connection: pg.Client, done: (error: Error | null, connection: pg.Client) => void) => {
          connection.query(`set work_mem = '${options.workMem}'`, (error: Error | null) => done(error, connection));
        },
      }),
    },
  });
}
