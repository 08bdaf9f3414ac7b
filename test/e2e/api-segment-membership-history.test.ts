/**
 * Membership as of a date, and segment sizes over time, through the real API (gateway +
 * Cube as seglayer_api, queried with the official @cubejs-client/core). Demo data is
 * built, then a second load of later events moves the reference time and the warehouse
 * is built again, so the history has two reference times and memberships that moved.
 * Expected answers are folded here, in TypeScript, from the rows of
 * segments.membership_history (the latest change per user and segment at or before D,
 * kept when an entry) — not from the spells or snapshots the views read. A region-scoped
 * token gets the same answers restricted to its region's users, and no other region.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Query } from '@cubejs-client/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';
import { loadTestProject } from '../support/test-project.ts';

interface Change {
  user_key: string;
  definition: string;
  segment: string;
  version: number;
  change: 'entered' | 'left';
  reference_at: Date;
  changed_at: Date;
}

let api: ApiFixture;
let admin: string;
let history: Change[];
let regionOf: Map<string, string>;
let points: Date[];
let definition: string;
let region: string;
let regional: string;

/** Members (segment|user_key) of `def` as of `at`, folded from the history rows. */
function membersAt(def: string, at: Date, users?: (user: string) => boolean): Set<string> {
  const latest = new Map<string, Change>();
  for (const h of history) {
    if (h.definition !== def || h.reference_at > at) continue;
    const key = `${h.segment}|${h.user_key}|${h.version}`;
    const seen = latest.get(key);
    const later = !seen || h.reference_at > seen.reference_at || (h.reference_at.getTime() === seen.reference_at.getTime() && h.changed_at > seen.changed_at);
    if (later) latest.set(key, h);
  }
  return new Set([...latest.values()].filter((h) => h.change === 'entered' && (!users || users(h.user_key))).map((h) => `${h.segment}|${h.user_key}`));
}
const sizes = (members: Set<string>) => {
  const out: Record<string, number> = {};
  for (const m of members) out[m.split('|')[0]!] = (out[m.split('|')[0]!] ?? 0) + 1;
  return out;
};
const iso = (value: string) => new Date(value.endsWith('Z') ? value : `${value}Z`).toISOString();

async function cube(token: string, query: Query): Promise<Record<string, string>[]> {
  const result = await api.rest(token).load(query);
  return result.rawData() as unknown as Record<string, string>[];
}
const EPOCH = '1970-01-01';
const asOfQuery = (when: Date | string, extra: string[] = []): Query => {
  const at = typeof when === 'string' ? when : when.toISOString();
  return {
    dimensions: ['segment_membership_history.segment', 'segment_membership_history.user_key', ...extra],
    filters: [
      { member: 'segment_membership_history.definition', operator: 'equals', values: [definition] },
      // entered on or before D, and not left by D: both as date ranges ending at D (a date alone: its end).
      { member: 'segment_membership_history.entered_at', operator: 'inDateRange', values: [EPOCH, at] },
      { or: [{ member: 'segment_membership_history.left_at', operator: 'notSet' }, { member: 'segment_membership_history.left_at', operator: 'notInDateRange', values: [EPOCH, at] }] },
    ],
    limit: 50000,
  };
};
const sizesQuery = (extra: string[] = []): Query => ({
  measures: ['segment_sizes.members'],
  dimensions: ['segment_sizes.reference_at', 'segment_sizes.segment', ...extra],
  filters: [{ member: 'segment_sizes.definition', operator: 'equals', values: [definition] }],
  order: [['segment_sizes.reference_at', 'asc'], ['segment_sizes.segment', 'asc']],
  limit: 50000,
});
/** {reference time: {segment: members}} from a segment_sizes answer. */
const series = (rows: Record<string, string>[]) => {
  const out: Record<string, Record<string, number>> = {};
  for (const r of rows) (out[iso(r['segment_sizes.reference_at']!)] ??= {})[r['segment_sizes.segment']!] = Number(r['segment_sizes.members']);
  return out;
};
const expectedSeries = (users?: (user: string) => boolean) =>
  Object.fromEntries(points.map((p) => [p.toISOString(), sizes(membersAt(definition, p, users))] as const).filter(([, s]) => Object.keys(s).length > 0));

beforeAll(async () => {
  api = await startApiFixture({ users: 300 });
  admin = await api.token({ role: 'admin' });
  // A second load: later activity of a third of the users, two days after the last one.
  const reference = (await api.sql<{ as_of_at: Date }>(`select as_of_at from core.reference_time`))[0]!.as_of_at;
  const users = await api.sql<{ user_id: string }>(`select user_id from core.dim_users where user_id is not null order by md5(user_key) limit 100`);
  const events = await api.sql<{ event: string }>(`select event from core.fct_events group by 1 order by count(*) desc limit 3`);
  const rows = users.flatMap((u, i) => events.map((e, j) => `late-${i}-${j},${u.user_id},${e.event},${new Date(reference.getTime() + 86_400_000 + (i % 20) * 3_600_000 + j * 60_000).toISOString()}`));
  const file = join(mkdtempSync(join(tmpdir(), 'seglayer-history-api-')), 'later-events.csv');
  writeFileSync(file, `message_id,user_id,event,occurred_at\n${rows.join('\n')}\n`);
  await loadFile(api.db.url, file, { into: 'events' });
  const build = await runModels(api.db.knex, api.db.url, (await loadTestProject()).models);
  expect(build.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);

  history = await api.sql<Change>(`select user_key, definition, segment, version, change, reference_at, changed_at from segments.membership_history`);
  regionOf = new Map((await api.sql<{ user_key: string; region: string }>(`select user_key, region from core.dim_users`)).map((u) => [u.user_key, u.region]));
  points = [...new Set(history.map((h) => h.reference_at.getTime()))].sort((a, b) => a - b).map((t) => new Date(t));
  // The definition whose membership the second build moved most.
  const moved = new Map<string, number>();
  for (const h of history) if (h.reference_at.getTime() === points[1]?.getTime()) moved.set(h.definition, (moved.get(h.definition) ?? 0) + 1);
  definition = [...moved.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  // The region with most members of it now.
  const counts = new Map<string, number>();
  for (const m of membersAt(definition, points[1]!)) {
    const r = regionOf.get(m.split('|')[1]!);
    if (r) counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  region = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  regional = await api.token({ role: 'analyst', region });
}, 600_000);
afterAll(() => api?.close());

describe('segment membership history through Cube', () => {
  it('the history has two reference times, and the second build moved memberships', () => {
    expect(points).toHaveLength(2);
    expect(points[1]!.getTime() - points[0]!.getTime()).toBeGreaterThanOrEqual(86_400_000);
    expect(history.filter((h) => h.reference_at.getTime() === points[1]!.getTime()).length).toBeGreaterThan(0);
  });

  it('members of a segment as of a date: between the builds, the first build; at the second, now', async () => {
    const between = new Date(points[0]!.getTime() + 3_600_000);
    for (const at of [between, points[1]!]) {
      const rows = await cube(admin, asOfQuery(at));
      const expected = membersAt(definition, at);
      expect(expected.size).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => `${r['segment_membership_history.segment']}|${r['segment_membership_history.user_key']}`))).toEqual(expected);
    }
    expect(membersAt(definition, between)).not.toEqual(membersAt(definition, points[1]!));
    // Now equals the current membership, read independently.
    const current = await api.sql<{ k: string }>(`select segment || '|' || user_key as k from segments.current_membership where definition = ?`, [definition]);
    expect(membersAt(definition, points[1]!)).toEqual(new Set(current.map((c) => c.k)));
    // A date alone means its end (every build of that day), as `segments members --as-of` reads it.
    const firstDay = points[0]!.toISOString().slice(0, 10);
    const byDate = await cube(admin, asOfQuery(firstDay));
    expect(new Set(byDate.map((r) => `${r['segment_membership_history.segment']}|${r['segment_membership_history.user_key']}`))).toEqual(membersAt(definition, new Date(`${firstDay}T23:59:59.999Z`)));
    // Before the first build: nobody.
    expect(await cube(admin, asOfQuery(new Date(points[0]!.getTime() - 86_400_000)))).toEqual([]);
  });

  it('segment sizes over time: members per segment at each reference time', async () => {
    const answer = series(await cube(admin, sizesQuery()));
    expect(answer).toEqual(expectedSeries());
    expect(Object.keys(answer)).toHaveLength(2);
  });

  it('a region-scoped token sees only its region: as-of members and sizes of its users alone', async () => {
    const mine = (user: string) => regionOf.get(user) === region;
    for (const at of [new Date(points[0]!.getTime() + 3_600_000), points[1]!]) {
      const rows = await cube(regional, asOfQuery(at, ['segment_membership_history.region']));
      expect(new Set(rows.map((r) => r['segment_membership_history.region']))).toEqual(new Set([region]));
      expect(new Set(rows.map((r) => `${r['segment_membership_history.segment']}|${r['segment_membership_history.user_key']}`))).toEqual(membersAt(definition, at, mine));
      expect(rows.length).toBeLessThan(membersAt(definition, at).size);
    }
    const answer = series(await cube(regional, sizesQuery()));
    expect(answer).toEqual(expectedSeries(mine));
    // Asking for another region's rows returns nothing.
    const other = [...new Set(regionOf.values())].find((r) => r && r !== region)!;
    const leak = await cube(regional, { ...sizesQuery(), filters: [...(sizesQuery().filters ?? []), { member: 'segment_sizes.region', operator: 'equals', values: [other] }] });
    expect(leak).toEqual([]);
  });
});
