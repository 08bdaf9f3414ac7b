/**
 * The demo generator is deterministic (same seed → same bytes) and its
 * truth.json agrees with the files it wrote, recomputed here from the files
 * alone as a model would (without PostgreSQL).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { writeDemoFiles, type DemoManifest } from '../../src/demo/demo-generator.ts';
import type { DemoTruth, MalformedKind } from '../../src/demo/demo-truth.ts';

const USERS = 300;
const generate = async (seed: number) => {
  const outDir = mkdtempSync(join(tmpdir(), 'seglayer-demo-'));
  const manifest = await writeDemoFiles({ users: USERS, seed, outDir });
  return { outDir, manifest };
};
const bytes = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f))]));
const text = (path: string) => gunzipSync(readFileSync(path)).toString('utf8');
const csv = (path: string) => Papa.parse<string[]>(text(path).trimEnd(), { delimiter: ',' }).data;
const fileOf = (manifest: DemoManifest, name: string) => manifest.files.find((f) => basename(f.path) === name)!;

const first = await generate(7);
const truth = JSON.parse(readFileSync(first.manifest.truthPath, 'utf8')) as DemoTruth;

describe('demo generator', () => {
  it('writes byte-identical files for the same seed, different ones for another seed', async () => {
    const again = await generate(7);
    const other = await generate(8);
    const a = bytes(first.outDir);
    expect(Object.keys(a)).toEqual([
      'costs.csv.gz', 'events.csv.gz', 'experiment_assignments.csv.gz', 'identify.ndjson.gz', 'outcomes.csv.gz', 'survey_responses.csv.gz', 'truth.json',
    ]);
    const b = bytes(again.outDir);
    for (const name of Object.keys(a)) expect(b[name]!.equals(a[name]!), name).toBe(true);
    const c = bytes(other.outDir);
    for (const name of Object.keys(a)) expect(c[name]!.equals(a[name]!), name).toBe(false);
  });

  it('lists the files in load order with their target tables and row counts', () => {
    expect(first.manifest.files.map((f) => [basename(f.path), f.into])).toEqual([
      ['identify.ndjson.gz', undefined],
      ['events.csv.gz', 'raw.events'],
      ['outcomes.csv.gz', 'raw.outcomes'],
      ['costs.csv.gz', 'raw.costs'],
      ['survey_responses.csv.gz', 'raw.survey_responses'],
      ['experiment_assignments.csv.gz', 'raw.experiment_assignments'],
    ]);
    for (const file of first.manifest.files) {
      const lines = text(file.path).split('\n').filter((l) => l !== '').length;
      expect(lines - (file.into ? 1 : 0), basename(file.path)).toBe(file.rows);
      expect(truth.files[basename(file.path)]).toEqual({ into: file.into ?? null, rows: file.rows });
    }
    expect(fileOf(first.manifest, 'identify.ndjson.gz').rows).toBe(USERS);
    expect(fileOf(first.manifest, 'experiment_assignments.csv.gz').rows).toBe(USERS);
  });

  it('counts event rows, duplicates and malformed rows exactly as written', () => {
    const events = truth.events;
    const raw = gunzipSync(readFileSync(fileOf(first.manifest, 'events.csv.gz').path));
    const lines = raw.toString('utf8').split('\n').filter((l) => l !== '');
    expect(lines.length).toBe(1 + events.validRows + events.malformed.total);
    expect(events.rowsWritten).toBe(events.validRows + events.malformed.total);
    expect(events.validRows).toBe(events.uniqueEvents + events.exactDuplicates + events.conflictingDuplicates);
    expect(events.malformed.total).toBeGreaterThan(0);
    expect(events.exactDuplicates).toBeGreaterThan(0);

    // Classify every row the way the loader's contract would.
    const [header, ...rows] = csv(fileOf(first.manifest, 'events.csv.gz').path);
    expect(header).toEqual(['message_id', 'anonymous_id', 'user_id', 'event', 'occurred_at', 'received_at', 'properties', 'device_type', 'os', 'browser', 'country', 'region', 'city', 'locale', 'utm_source', 'utm_medium', 'utm_campaign']);
    const kinds: Record<MalformedKind, number> = { bad_timestamp: 0, invalid_json: 0, wrong_column_count: 0, missing_event_name: 0, invalid_utf8: 0 };
    const valid: string[][] = [];
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    for (const row of rows) {
      if (row.length !== 17) kinds.wrong_column_count++;
      else if (row.some((f) => f.includes('\uFFFD'))) kinds.invalid_utf8++;
      else if (row[3] === '') kinds.missing_event_name++;
      else if (!iso.test(row[4]!) || new Date(row[4]!).toISOString() !== row[4]) kinds.bad_timestamp++;
      else {
        try {
          JSON.parse(row[6]!);
          valid.push(row);
        } catch {
          kinds.invalid_json++;
        }
      }
    }
    expect(kinds).toEqual(events.malformed.byKind);
    expect(valid.length).toBe(events.validRows);
    expect(new Set(valid.map((r) => r[0])).size).toBe(events.uniqueEvents);
    // A duplicate differs from its original only in received_at (column 5) unless it is a conflicting one.
    const payloads = new Set(valid.map((r) => JSON.stringify([...r.slice(0, 5), ...r.slice(6)])));
    expect(valid.length - payloads.size).toBe(events.exactDuplicates);
    expect(payloads.size - events.uniqueEvents).toBe(events.conflictingDuplicates);
  });

  it('plants first-week breadth, identity links and the experiment as the truth says', () => {
    const identify = text(fileOf(first.manifest, 'identify.ndjson.gz').path).trimEnd().split('\n').map((l) => JSON.parse(l) as {
      type: string; userId: string; anonymousId?: string; traits: { createdAt: string; plan: string };
    });
    expect(identify.every((c) => c.type === 'identify' && c.traits.plan === 'free')).toBe(true);
    const signup = new Map(identify.map((c) => [c.userId, Date.parse(c.traits.createdAt)]));
    expect(identify.filter((c) => c.anonymousId).length).toBe(truth.identity.linksFromIdentify);

    const [, ...rows] = csv(fileOf(first.manifest, 'events.csv.gz').path);
    const features = new Map<string, Set<string>>();
    const seen = new Set<string>();
    for (const row of rows) {
      if (row.length !== 17 || row[3] !== 'feature_used' || row[2] === '' || seen.has(row[0]!)) continue;
      let props: { feature?: string };
      try {
        props = JSON.parse(row[6]!) as { feature?: string };
      } catch {
        continue;
      }
      const at = Date.parse(row[4]!);
      const start = signup.get(row[2]!)!;
      if (Number.isNaN(at) || at < start || at >= start + 7 * 86_400_000) continue;
      seen.add(row[0]!);
      if (!features.has(row[2]!)) features.set(row[2]!, new Set());
      features.get(row[2]!)!.add(props.feature!);
    }
    const breadth = [...features].filter(([, f]) => f.size >= 3).map(([u]) => u).sort();
    expect(breadth).toEqual(truth.firstWeekBreadth.userIds);
    const b = truth.firstWeekBreadth;
    expect(b.breadthUsers.users).toBe(breadth.length);
    expect(b.breadthUsers.users + b.otherUsers.users).toBe(USERS);
    expect(b.breadthUsers.upgraded + b.otherUsers.upgraded).toBe(truth.outcomes.upgradedUsers);

    // Upgrades per user from the outcomes file.
    const [outcomeHeader, ...outcomes] = csv(fileOf(first.manifest, 'outcomes.csv.gz').path);
    expect(outcomeHeader).toEqual(['outcome_id', 'user_id', 'outcome_type', 'occurred_at', 'amount', 'currency', 'order_id', 'product_id', 'quantity', 'unit_price', 'plan']);
    const upgraded = new Set(outcomes.filter((o) => o[2] === 'upgrade').map((o) => o[1]));
    expect(upgraded.size).toBe(truth.outcomes.byType.upgrade);
    expect(breadth.filter((u) => upgraded.has(u)).length).toBe(b.breadthUsers.upgraded);
    expect(outcomes.filter((o) => o[2] === 'churn').every((o) => o[4] === '')).toBe(true);
    expect(outcomes.length).toBe(truth.outcomes.rows);

    // Second-device ids appear with the user id only on their signed_in event.
    const anonymousIds = Object.values(truth.identity.anonymousIds);
    expect(anonymousIds.length).toBe(truth.identity.anonymousFirstUsers);
    expect(anonymousIds.filter((ids) => ids.length === 2).length).toBe(truth.identity.linksOnlyViaEvents);

    const [, ...assignments] = csv(fileOf(first.manifest, 'experiment_assignments.csv.gz').path);
    const cells = truth.experiment.cells;
    const assigned = (['control', 'treatment'] as const).flatMap((v) => Object.values(cells[v]).map((c) => c.users)).reduce((a, n) => a + n, 0);
    expect(assigned).toBe(assignments.length);
    expect(assignments.filter((a) => a[1] === 'treatment').length).toBe(Object.values(cells.treatment).reduce((a, c) => a + c.users, 0));

    const [, ...survey] = csv(fileOf(first.manifest, 'survey_responses.csv.gz').path);
    expect(survey.length).toBe(truth.survey.respondents * 2);
    expect(survey.filter((r) => r[3] === 'primary_goal' && r[4] === 'grow_revenue').length).toBe(truth.survey.primaryGoalAnswers.grow_revenue);
  });

  it('refuses options it cannot honour', async () => {
    await expect(writeDemoFiles({ users: 0, seed: 1, outDir: tmpdir() })).rejects.toThrow(/users/);
    await expect(writeDemoFiles({ users: 10, seed: 1, outDir: tmpdir(), malformedRate: 1.5 })).rejects.toThrow(/malformedRate/);
  });
});
