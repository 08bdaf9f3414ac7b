/**
 * Clusters fitted now and then, scored every build (segments.cluster_fits,
 * segments.cluster_assignments): a build after new events keeps the fit and scores only
 * the users whose feature values changed, each to the nearest stored centroid (computed
 * here, in JavaScript, from the stored fit and features.user_features); a planted row of
 * an unchanged user survives (so it was reused, not recomputed); a refit with the same
 * seed equals a --full-refresh; a changed definition, and a fit older than refit_after of
 * reference time, force a refit; segments.transitions says which moves a refit caused.
 *
 * The `it`s run in order on one database.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import type { Project } from '../../src/project/project.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const FEATURES = ['active_days', 'sessions', 'events'] as const;
const USERS = 40;
const day = (d: number, h = 0, m = 0) => new Date(Date.UTC(2025, 2, 1 + d, h, m)).toISOString();

let db: TestDatabase;
let project: Project;
let seq = 0;
let seed = 11;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const segmentsDir = mkdtempSync(join(tmpdir(), 'seglayer-cluster-scoring-'));

const clusterYaml = (options: { seed?: number; k?: number; version?: number; refitAfter?: string } = {}) => `family: behavioural
segments:
  - name: activity
    title: Activity clusters
    description: Users grouped by how much they use the product.
    owner: product
    hypothesis: A few activity levels explain the differences; we will know from revenue per cluster.
    version: ${options.version ?? 1}
    kind: cluster
    cluster:
      k: ${options.k ?? 3}
      seed: ${options.seed ?? 42}
      features: [${FEATURES.join(', ')}]
      population: events > 0
${options.refitAfter ? `      refit_after: ${options.refitAfter}\n` : ''}`;

const useDefinition = async (options: Parameters<typeof clusterYaml>[0] = {}) => {
  writeFileSync(join(segmentsDir, 'clusters.yml'), clusterYaml(options));
  project = await loadTestProject({ SEGLAYER_SEGMENTS_DIR: segmentsDir });
};
const rows = async <T>(sql: string, bindings: unknown[] = []) => (await db.knex.raw(sql, bindings as never)).rows as T[];
const build = async (options: RunOptions = {}) => {
  const summary = await runModels(db.knex, db.url, project.models, options);
  expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
};
const events = (rowsOf: string[]) => fixture(`cs-events-${++seq}.csv`, csv('message_id,user_id,anonymous_id,event,occurred_at,properties', ...rowsOf));
const signIn = (user: number, at: string) => `cs${++seq},u${user},,signed_in,${at},{}`;
const loadEvents = async (lines: string[]) => loadFile(db.url, events(lines), { into: 'events' });

interface Fit { fitted_at: string; fit_reason: string; seed: number; means: number[]; sds: (number | null)[]; centroids: number[]; fitted_reference_at: string }
const fit = async () => (await rows<Fit>(`select fitted_at::text, fit_reason, seed, means, sds, centroids, fitted_reference_at::text from segments.cluster_fits where definition = 'activity'`))[0]!;
interface Assigned { user_key: string; segment: string; scored_reference_at: string; fitted_at: string }
const assignments = async () =>
  new Map((await rows<Assigned>(`select user_key, segment, scored_reference_at::text, fitted_at::text from segments.cluster_assignments where definition = 'activity'`)).map((r) => [r.user_key, r]));

/** user_key → the feature values of the population (events > 0), straight from features.user_features. */
const featureValues = async () =>
  new Map(
    (await rows<Record<string, string | number | null>>(`select user_key, ${FEATURES.map((f) => `${f}::float8 as ${f}`).join(', ')} from features.user_features where events > 0`)).map(
      (r) => [r.user_key as string, FEATURES.map((f) => (r[f] === null ? null : Number(r[f])))],
    ),
  );

/** The nearest centroid of the stored fit, computed independently: z-scores by the fit's means and sds, squared distance, ties to the lower label. */
const nearest = (f: Fit, values: (number | null)[]) => {
  const z = values.map((v, j) => (v === null || f.sds[j] === null ? 0 : (v - f.means[j]!) / f.sds[j]!));
  let best = 0;
  let bestDistance = Infinity;
  for (let c = 0; c < f.centroids.length / z.length; c++) {
    const distance = z.reduce((sum, v, j) => sum + (v - f.centroids[c * z.length + j]!) ** 2, 0);
    if (distance < bestDistance) [best, bestDistance] = [c, distance];
  }
  return `cluster_${best + 1}`;
};

beforeAll(async () => {
  db = await createTestDatabase();
  await useDefinition();
  await loadFile(db.url, fixture(`cs-users-${++seq}.csv`, csv('user_id,signed_up_at,plan,country,updated_at', ...Array.from({ length: USERS }, (_, u) => `u${u},${day(0)},free,DE,${day(0)}`))), { into: 'users' });
  // Three activity levels: every 3rd user light, then medium, then heavy.
  const lines: string[] = [];
  for (let u = 0; u < USERS; u++) {
    const perDay = [0.15, 0.45, 0.9][u % 3]!;
    for (let d = 0; d < 20; d++) if (random() < perDay) for (let s = 0; s < 1 + (u % 3); s++) lines.push(signIn(u, day(d, 8 + s * 3, u)));
  }
  await loadEvents(lines);
  await build({ fullRefresh: true });
});
afterAll(async () => {
  await db?.drop();
});

it('fits once on the first build, with what it was fitted on', async () => {
  const first = await fit();
  expect(first.fit_reason).toBe('no previous fit');
  expect(first.seed).toBe(42);
  expect(first.centroids).toHaveLength(3 * FEATURES.length);
  const [reference] = await rows<{ as_of_at: string }>(`select as_of_at::text from core.reference_time`);
  expect(first.fitted_reference_at).toBe(reference!.as_of_at);
  // Every user sits at the nearest stored centroid (the fit's own assignment is a score too).
  const values = await featureValues();
  const assigned = await assignments();
  expect([...assigned.keys()].sort()).toEqual([...values.keys()].sort());
  for (const [user, row] of assigned) expect(row.segment, user).toBe(nearest(first, values.get(user)!));
});

it('a build after new events keeps the fit and scores only the users whose features changed, each to its nearest stored centroid', async () => {
  const before = await fit();
  const previous = await assignments();
  const oldValues = await featureValues();
  // A marker: an untouched user's row is planted in another cluster; only reuse keeps it.
  const untouched = 'u3';
  const planted = previous.get(untouched)!.segment === 'cluster_1' ? 'cluster_2' : 'cluster_1';
  await db.knex.raw(`update segments.cluster_assignments set segment = ? where user_key = ? and definition = 'activity'`, [planted, untouched]);
  // A second marker: another untouched user's stored values no longer match their features. A pass over every user
  // would rescore them; the definition reads only user_facts' features and its rows are all of the current fit, so
  // the build looks at the touched users only and leaves the row alone.
  const unread = 'u4';
  await db.knex.raw(`update segments.cluster_assignments set scored_values = array[-1, -1, -1]::float8[] where user_key = ? and definition = 'activity'`, [unread]);
  // u0 (light) turns heavy; u1 and u7 get one more event; u40 is new. The reference time moves one day.
  await loadFile(db.url, fixture(`cs-users-${++seq}.csv`, csv('user_id,signed_up_at,plan,country,updated_at', `u${USERS},${day(20)},free,DE,${day(20)}`)), { into: 'users' });
  await loadEvents([
    ...Array.from({ length: 19 }, (_, d) => [signIn(0, day(d, 20)), signIn(0, day(d, 23))]).flat(),
    signIn(1, day(20, 9)),
    signIn(7, day(20, 9)),
    signIn(USERS, day(20, 10)),
  ]);
  await build();

  const after = await fit();
  expect(after).toEqual(before); // kept: same fit, same time it was made
  const values = await featureValues();
  const assigned = await assignments();
  const now = (await rows<{ as_of_at: string }>(`select as_of_at::text from core.reference_time`))[0]!.as_of_at;
  const changed = [...values.keys()].filter((u) => JSON.stringify(values.get(u)) !== JSON.stringify(oldValues.get(u))).sort();
  expect(changed).toEqual(['u0', 'u1', `u${USERS}`, 'u7']);
  // Scored now: exactly the changed users; everyone else's row is the previous one.
  expect([...assigned].filter(([, r]) => r.scored_reference_at === now).map(([u]) => u).sort()).toEqual(changed);
  expect(assigned.get(untouched)!.segment).toBe(planted);
  expect((await rows<{ v: number[] }>(`select scored_values as v from segments.cluster_assignments where user_key = ?`, [unread]))[0]!.v).toEqual([-1, -1, -1]);
  for (const [user, row] of assigned) {
    expect(row.fitted_at).toBe(before.fitted_at);
    if (user !== untouched) expect(row.segment, user).toBe(nearest(before, values.get(user)!));
  }
  // u0 moved by its own features, against the same centroids: a score, not a refit.
  expect(assigned.get('u0')!.segment).not.toBe(previous.get('u0')!.segment);
  const moves = await rows<{ user_key: string; cause: string }>(`select user_key, cause from segments.transitions where definition = 'activity'`);
  expect(moves).toContainEqual({ user_key: 'u0', cause: 'score' });
  expect(moves.every((m) => m.cause === 'score')).toBe(true);
});

it('two users merged by an alias: the key merged away loses its row, the canonical user is rescored, no one else is read', async () => {
  const before = await assignments();
  expect(before.has('u10') && before.has('u9')).toBe(true);
  const scored = async () => (await rows<{ v: number[] }>(`select scored_values as v from segments.cluster_assignments where user_key = 'u10'`))[0]!.v;
  const unmerged = await scored();
  await loadFile(db.url, fixture(`cs-identities-${++seq}.csv`, csv('anonymous_id,user_id,linked_at,link_source', `u10,u9,${day(20)},alias`)), { into: 'identities' });
  await build();
  // The identity map picks the canonical key of the two (u10: the smaller text); the other is merged away.
  const keys = await rows<{ identity: string; user_key: string }>(`select identity, user_key from core.user_identity_map where identity in ('u9', 'u10') order by 1`);
  expect(keys).toEqual([{ identity: 'u10', user_key: 'u10' }, { identity: 'u9', user_key: 'u10' }]);
  const after = await assignments();
  expect(after.has('u9')).toBe(false);
  // u10 now holds u9's events too: scored again, from its new values, to their nearest centroid.
  const values = await featureValues();
  expect(await scored()).toEqual(values.get('u10'));
  expect(await scored()).not.toEqual(unmerged);
  expect(after.get('u10')!.segment).toBe(nearest(await fit(), values.get('u10')!));
  // Still restricted: the marker row of the test above is left alone.
  expect((await rows<{ v: number[] }>(`select scored_values as v from segments.cluster_assignments where user_key = 'u4'`))[0]!.v).toEqual([-1, -1, -1]);
  expect([...after.keys()].sort()).toEqual([...before.keys()].filter((u) => u !== 'u9').sort());
});

it('a refit with the same seed (refit_after: 0d) equals a --full-refresh, row for row', async () => {
  await useDefinition({ refitAfter: '0d' }); // when, not what: same hash, same version
  await build();
  const refit = await fit();
  expect(refit.fit_reason).toBe('refit_after elapsed');
  const snapshot = async () => ({
    fits: await rows(`select definition, version, definition_hash, seed, k, features, population_users, steps, converged, means, sds, centroids, fitted_reference_at from segments.cluster_fits order by 1`),
    assigned: await rows(`select user_key, definition, version, segment, scored_values, scored_reference_at from segments.cluster_assignments order by 1, 2`),
  });
  const refitted = await snapshot();
  // The planted row is gone: a refit scores everyone.
  expect((await assignments()).get('u3')!.segment).toBe(nearest(refit, (await featureValues()).get('u3')!));
  await build({ fullRefresh: true });
  expect((await fit()).fit_reason).toBe('no previous fit');
  expect(await snapshot()).toEqual(refitted);
});

it('a changed definition (another seed and k, new version) forces a refit; moves at that build are marked refit', async () => {
  await useDefinition({ seed: 7, k: 2, version: 2 });
  const before = await fit();
  await build();
  const after = await fit();
  expect(after.fit_reason).toBe('definition changed');
  expect(after.seed).toBe(7);
  expect(after.fitted_at > before.fitted_at).toBe(true);
  // A new version: every member leaves version 1 and enters version 2; with k 3 → 2, cluster_3's members move.
  const moves = await rows<{ user_key: string; cause: string; now: boolean }>(
    `select user_key, cause, moved_at > ?::timestamptz as now from segments.transitions where definition = 'activity'`,
    [before.fitted_at],
  );
  expect(moves.filter((m) => m.now).length).toBeGreaterThan(0);
  expect(new Set(moves.filter((m) => m.now).map((m) => m.cause))).toEqual(new Set(['refit']));
  expect(moves).toContainEqual({ user_key: 'u0', cause: 'score', now: false }); // the earlier move keeps its cause
  const log = await rows<{ fit_reason: string }>(`select fit_reason from segments.cluster_fit_log where definition = 'activity' order by fitted_at`);
  expect(log.map((l) => l.fit_reason)).toEqual(['no previous fit', 'refit_after elapsed', 'no previous fit', 'definition changed']);
});

it('a fit older than refit_after (default 7d) of reference time is refitted; younger, it is kept', async () => {
  const fitted = await fit();
  await loadEvents([signIn(2, day(25, 9))]); // reference time: 5 days on
  await build();
  expect((await fit()).fitted_at).toBe(fitted.fitted_at);
  await loadEvents([signIn(2, day(28, 9))]); // 8 days after the fit's reference time
  await build();
  const refit = await fit();
  expect(refit.fit_reason).toBe('refit_after elapsed');
  expect(refit.fitted_at > fitted.fitted_at).toBe(true);
});
