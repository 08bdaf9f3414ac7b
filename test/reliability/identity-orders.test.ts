/**
 * Reliability: identity resolution and user attributes do not depend on the
 * order files were loaded in. The same calls, split over several files with
 * same-timestamp ties everywhere (identify traits, conflicting event copies,
 * shared devices, plan changes), are loaded in several shuffled orders into
 * fresh databases; core.dim_users and core.user_identity_map must be identical
 * (checksum of the whole table) in every order.
 *
 * 300 users x 3 orders by default; SEGLAYER_RELIABILITY_FULL=1 runs 5,000 x 6.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const FULL = process.env.SEGLAYER_RELIABILITY_FULL === '1';
const USERS = FULL ? 5_000 : 300;
const ORDERS = FULL ? 6 : 3;
const dir = mkdtempSync(join(tmpdir(), 'seglayer-identity-orders-'));

function random(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface SourceFile {
  path: string;
  into?: string;
}

/** Every tie a model must break: same timestamp, different content, in different files. */
function writeFiles(): SourceFile[] {
  const calls: unknown[][] = [[], [], [], []];
  const outcomes: string[][] = [['user_id,outcome_type,occurred_at,plan'], ['user_id,outcome_type,occurred_at,plan']];
  const base = Date.parse('2025-03-01T00:00:00Z');
  const at = (ms: number) => new Date(ms).toISOString();
  for (let n = 0; n < USERS; n++) {
    const user = `user${String(n).padStart(5, '0')}`;
    const t = base + n * 60_000;
    calls[0]!.push({ type: 'identify', userId: user, anonymousId: `anon${n}`, timestamp: at(t), traits: { plan: 'pro', country: 'DE', email: `${user}@a.example` } });
    calls[1]!.push({ type: 'identify', userId: user, timestamp: at(t), traits: { plan: 'free', country: 'FR', email: `${user}@b.example` } });
    const track = (country: string, device: string) => ({
      type: 'track', messageId: `m${n}`, anonymousId: `anon${n}`, event: 'app_opened', timestamp: at(t + 3_600_000),
      context: { device: { type: device }, location: { country } },
    });
    calls[2]!.push(track('DE', 'mobile'));
    calls[3]!.push(track('FR', 'desktop')); // same messageId, other payload, no receivedAt: a conflicting copy
    if (n % 10 === 0) {
      calls[2]!.push({ type: 'alias', previousId: `old${n}`, userId: user, timestamp: at(t) });
      calls[1]!.push({ type: 'track', messageId: `o${n}`, userId: `old${n}`, event: 'app_opened', timestamp: at(t + 60_000) });
    }
    if (n % 7 === 0 && n + 1 < USERS) {
      // a shared device: linked to two users at the same instant
      calls[3]!.push({ type: 'identify', userId: `user${String(n + 1).padStart(5, '0')}`, anonymousId: `anon${n}`, timestamp: at(t) });
    }
    outcomes[0]!.push(`${user},upgrade,${at(t + 7_200_000)},team`);
    outcomes[1]!.push(`${user},upgrade,${at(t + 7_200_000)},business`);
  }
  const files: SourceFile[] = calls.map((list, i) => {
    const path = join(dir, `calls-${i + 1}.ndjson`);
    writeFileSync(path, `${list.map((c) => JSON.stringify(c)).join('\n')}\n`);
    return { path };
  });
  outcomes.forEach((lines, i) => {
    const path = join(dir, `outcomes-${i + 1}.csv`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    files.push({ path, into: 'outcomes' });
  });
  return files;
}

function orders(files: SourceFile[]): SourceFile[][] {
  const result = [files, [...files].reverse()];
  const rand = random(7);
  while (result.length < ORDERS) {
    const shuffled = [...files];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    result.push(shuffled);
  }
  return result.slice(0, ORDERS);
}

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const db of databases) await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const checksum = async (db: TestDatabase, table: string) =>
  (await db.knex.raw(`select count(*) || ':' || md5(string_agg(t::text, '|' order by t::text)) as sum from ${table} t`)).rows[0].sum as string;

it('dim_users and the identity map are identical whatever the load order', async () => {
  const started = Date.now();
  const files = writeFiles();
  const results: { order: string; dimUsers: string; identityMap: string; tiedUsers: number }[] = [];
  for (const order of orders(files)) {
    const db = await createTestDatabase();
    databases.push(db);
    for (const file of order) {
      const report = await loadFile(db.url, file.path, { into: file.into });
      expect(report.rowsQuarantined, file.path).toBe(0);
    }
    const summary = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['+core.dim_users'] });
    expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
    const tied = await db.knex.raw(`select count(*)::int as n from (select user_id from raw.users group by user_id, updated_at having count(distinct plan) > 1) t`);
    results.push({
      order: order.map((f) => f.path.split('/').pop()).join(' '),
      dimUsers: await checksum(db, 'core.dim_users'),
      identityMap: await checksum(db, 'core.user_identity_map'),
      tiedUsers: tied.rows[0].n,
    });
    await db.drop();
    databases.pop();
  }
  const identical = results.every((r) => r.dimUsers === results[0]!.dimUsers && r.identityMap === results[0]!.identityMap);
  console.log(
    `reliability: identity-orders users=${USERS} files=${files.length} orders=${results.length} tied_users=${results[0]!.tiedUsers}` +
      ` dim_users=${results[0]!.dimUsers} identity_map=${results[0]!.identityMap} identical=${identical} seconds=${((Date.now() - started) / 1000).toFixed(1)}`,
  );
  expect(results[0]!.tiedUsers).toBe(USERS);
  expect(new Set(results.map((r) => r.order)).size).toBe(results.length);
  for (const r of results) expect({ order: r.order, dimUsers: r.dimUsers, identityMap: r.identityMap }).toEqual({ order: r.order, dimUsers: results[0]!.dimUsers, identityMap: results[0]!.identityMap });
});
