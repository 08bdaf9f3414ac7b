/**
 * The loader's promise: a value its parsers accept never makes COPY fail. This
 * checks it against PostgreSQL's own input functions on many generated values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnType } from '../../src/load/table-contracts.ts';
import { parserFor } from '../../src/load/value-parsers.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(() => db.drop());

let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
const digits = (n: number) => Array.from({ length: n }, () => pick([...'0123456789'])).join('');
/** A two-digit number from 0 to max, so most candidates are near the edges of validity. */
const upTo = (max: number) => String(Math.floor(rand() * (max + 1))).padStart(2, '0');

function candidates(type: ColumnType): string[] {
  const out: string[] = [];
  for (let i = 0; i < 3000; i++) {
    if (type === 'timestamptz' || type === 'date') {
      const date = `${pick(['19', '20', '00', '99'])}${digits(2)}-${upTo(13)}-${upTo(32)}`;
      const time = pick(['', `T${upTo(25)}:${upTo(61)}`, ` ${upTo(24)}:${upTo(60)}:${upTo(61)}`, `T${upTo(23)}:${upTo(59)}:${upTo(60)}.${digits(pick([1, 3, 6, 9]))}`]);
      const zone = pick(['', 'Z', `+${upTo(16)}`, `-${upTo(16)}:${upTo(60)}`, ` +${upTo(16)}${upTo(60)}`, 'z']);
      out.push(type === 'date' ? date : date + time + zone);
    } else if (type === 'integer') {
      out.push(pick(['', '-', '+']) + digits(1 + Math.floor(rand() * 11)));
    } else if (type === 'numeric') {
      out.push(pick(['', '-']) + digits(Math.floor(rand() * 16)) + pick(['', '.', `.${digits(3)}`]) + pick(['', `e${digits(1)}`, `E-${digits(2)}`]));
    } else if (type === 'jsonb') {
      out.push(pick(['{"a":"\\u00e9"}', '{"a":"\\ud83d\\ude00"}', '{"a":"\\ud83d"}', '{"a":1e400}', '{"a":-0.0}', '{"a":[1,{"b":null}]}', `{"k${digits(2)}":"${digits(3)}"}`, '{"a":"\\u0000"}', '{}']));
    }
  }
  return out;
}

describe.each(['timestamptz', 'date', 'integer', 'numeric', 'jsonb'] as ColumnType[])('%s', (type) => {
  it('every value the parser accepts, PostgreSQL accepts too', async () => {
    const parse = parserFor({ name: 'c', type });
    const accepted: string[] = [];
    for (const value of candidates(type)) {
      try {
        const out = parse(value);
        if (out !== null) accepted.push(out);
      } catch {
        /* rejected: fine */
      }
    }
    expect(accepted.length).toBeGreaterThan(200);
    const pgType = type === 'numeric' ? 'numeric(18,4)' : type;
    const { rows } = await db.knex.raw(`select v from unnest(?::text[]) as v where not pg_input_is_valid(v, ?)`, [accepted, pgType]);
    expect(rows.map((r: { v: string }) => r.v)).toEqual([]);
  });
});
