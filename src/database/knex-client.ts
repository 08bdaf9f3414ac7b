/** One way to make a Knex instance for the warehouse, so pool and type settings agree everywhere. */
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// bigint (count(*), sums) comes back as a JS number when it fits; exact numerics stay strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
});

export function createKnex(url: string, pool: { min?: number; max?: number } = {}): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: url, application_name: 'seglayer' },
    pool: { min: pool.min ?? 0, max: pool.max ?? 4 },
  });
}
