/**
 * Tracking calls: a Segment / RudderStack export (NDJSON of track, page,
 * identify, alias calls) loads into raw.events, raw.users and raw.identities
 * with no mapping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { fixture, ndjson } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const context = {
  device: { type: 'mobile' },
  os: { name: 'iOS' },
  browser: { name: 'Safari' },
  location: { country: 'GB', region: 'England', city: 'Leeds' },
  locale: 'en-GB',
  campaign: { source: 'google', medium: 'cpc', name: 'spring' },
};

describe('tracking calls (Segment / RudderStack export)', () => {
  it('routes each call type to its table and quarantines the rest', async () => {
    const file = fixture('export.ndjson.gz', ndjson(
      { type: 'track', messageId: 'e1', anonymousId: 'anon-1', event: 'Signed Up', timestamp: '2025-05-01T10:00:00.000Z', receivedAt: '2025-05-01T10:00:01.000Z', properties: { plan: 'free' }, context },
      { type: 'identify', messageId: 'i1', anonymousId: 'anon-1', userId: 'u1', timestamp: '2025-05-01T10:00:02Z', traits: { email: 'a@example.com', plan: 'free', createdAt: '2025-05-01T10:00:00Z', birthYear: 1990, address: { country: 'GB', city: 'Leeds' } } },
      // RudderStack: traits in context, originalTimestamp instead of timestamp
      { type: 'identify', messageId: 'i2', userId: 'u2', originalTimestamp: '2025-05-02T08:00:00Z', context: { traits: { plan: 'pro', acquisition_channel: 'referral' } } },
      { type: 'page', messageId: 'p1', userId: 'u1', name: 'Pricing', timestamp: '2025-05-01T10:05:00Z', properties: { path: '/pricing' } },
      { type: 'screen', messageId: 's1', userId: 'u2', name: 'Home', timestamp: '2025-05-02T08:01:00Z' },
      { type: 'alias', messageId: 'al1', previousId: 'anon-9', userId: 'u2', timestamp: '2025-05-02T08:02:00Z' },
      { type: 'group', messageId: 'g1', userId: 'u1', groupId: 'acme', timestamp: '2025-05-02T08:02:00Z' },
      { type: 'identify', messageId: 'i3', anonymousId: 'anon-3', traits: { plan: 'free' }, timestamp: '2025-05-02T08:02:00Z' },
      { type: 'track', messageId: 'e2', userId: 'u1', event: 'Report Exported', timestamp: 'not-a-time' },
    ), { gzip: true });

    const report = await loadFile(db.url, file);
    expect(report.format).toBe('tracking-calls');
    expect(report).toMatchObject({ rowsIn: 9, rowsLoaded: 6, rowsQuarantined: 3, tables: { 'raw.events': 3, 'raw.users': 2, 'raw.identities': 2 } });

    const events = await db.knex('raw.events').orderBy('source_row_number').select('message_id', 'anonymous_id', 'user_id', 'event', 'occurred_at', 'properties', 'device_type', 'os', 'browser', 'country', 'region', 'city', 'locale', 'utm_source', 'utm_medium', 'utm_campaign');
    expect(events).toEqual([
      { message_id: 'e1', anonymous_id: 'anon-1', user_id: null, event: 'Signed Up', occurred_at: new Date('2025-05-01T10:00:00Z'), properties: { plan: 'free' }, device_type: 'mobile', os: 'iOS', browser: 'Safari', country: 'GB', region: 'England', city: 'Leeds', locale: 'en-GB', utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'spring' },
      expect.objectContaining({ message_id: 'p1', event: 'page_viewed', properties: { name: 'Pricing', path: '/pricing' } }),
      expect.objectContaining({ message_id: 's1', event: 'screen_viewed', properties: { name: 'Home' } }),
    ]);

    const users = await db.knex('raw.users').orderBy('user_id').select('user_id', 'plan', 'email', 'birth_year', 'country', 'city', 'acquisition_channel', 'signed_up_at', 'updated_at');
    expect(users).toEqual([
      { user_id: 'u1', plan: 'free', email: 'a@example.com', birth_year: 1990, country: 'GB', city: 'Leeds', acquisition_channel: null, signed_up_at: new Date('2025-05-01T10:00:00Z'), updated_at: new Date('2025-05-01T10:00:02Z') },
      { user_id: 'u2', plan: 'pro', email: null, birth_year: null, country: null, city: null, acquisition_channel: 'referral', signed_up_at: null, updated_at: new Date('2025-05-02T08:00:00Z') },
    ]);

    const identities = await db.knex('raw.identities').orderBy('anonymous_id').select('anonymous_id', 'user_id', 'link_source');
    expect(identities).toEqual([
      { anonymous_id: 'anon-1', user_id: 'u1', link_source: 'identify' },
      { anonymous_id: 'anon-9', user_id: 'u2', link_source: 'alias' },
    ]);

    expect(await db.knex('ops.load_batches').where('batch_id', report.batchId).first('format')).toEqual({ format: 'tracking-calls' });
    expect(await db.knex('ops.quarantine').distinct('target_table')).toEqual([{ target_table: 'tracking-calls' }]);

    const reasons = await db.knex('ops.quarantine').orderBy('row_number').select('row_number', 'line_number', 'field', 'reason');
    expect(reasons).toEqual([
      { row_number: 7, line_number: 7, field: 'type', reason: 'unsupported call type "group" (loaded: track, page, screen, identify, alias)' },
      { row_number: 8, line_number: 8, field: 'userId', reason: 'identify without userId: nothing to attach the traits to' },
      { row_number: 9, line_number: 9, field: 'occurred_at', reason: 'not a timestamp (expected ISO 8601, e.g. 2024-05-01T12:00:00Z), got "not-a-time"' },
    ]);
  });
});
