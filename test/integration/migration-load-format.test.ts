/**
 * 20261130130000_rename_segment_load_format: batches loaded as `segment` read as
 * `tracking-calls` afterwards, their quarantined rows too; down restores them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up } from '../../migrations/20261130130000_rename_segment_load_format.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const state = async () => ({
  formats: (await db.knex('ops.load_batches').orderBy('batch_id').pluck('format')) as string[],
  targets: (await db.knex('ops.quarantine').orderBy('quarantine_id').pluck('target_table')) as string[],
});

describe('rename of the segment load format', () => {
  it('renames past segment batches and their quarantine label, and nothing else', async () => {
    const batches = await db.knex('ops.load_batches')
      .insert(['segment', 'csv'].map((format) => ({ source: `old.${format}`, format, target_tables: ['raw.events'], status: 'loaded', started_at: new Date() })))
      .returning('batch_id');
    await db.knex('ops.quarantine').insert([
      { source: 'old.segment', batch_id: batches[0]!.batch_id, target_table: 'segment', raw_payload: '{}', reason: 'r' },
      { source: 'old.csv', batch_id: batches[1]!.batch_id, target_table: 'raw.events', raw_payload: 'x', reason: 'r' },
    ]);

    await up(db.knex);
    expect(await state()).toEqual({ formats: ['tracking-calls', 'csv'], targets: ['tracking-calls', 'raw.events'] });
    await down(db.knex);
    expect(await state()).toEqual({ formats: ['segment', 'csv'], targets: ['segment', 'raw.events'] });
  });
});
