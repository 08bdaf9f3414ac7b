/**
 * Survey answers as features come from configuration: a project whose traits.yml
 * names other questions gets other feature columns (and rules over them), with no
 * model edited; features.user_traits holds the latest valid answer to each, typed,
 * checked against an independent computation over hand-written answers.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UserError } from '../../src/errors/user-error.js';
import type { Project } from '../../src/project/project.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
let project: Project;
const dir = mkdtempSync(join(tmpdir(), 'seglayer-traits-'));

const TRAITS = `traits:
  - name: nps
    question: how_likely_to_recommend
    type: integer
    description: Net promoter score answer 0-10
  - name: colour
    question: favourite_colour
    survey: onboarding
    type: text
    description: Favourite colour, onboarding survey only
  - name: wants_newsletter
    question: newsletter
    type: boolean
    description: Wants the newsletter
`;
const SEGMENTS = `family: psychographic
segments:
  - name: promoters
    title: Promoters
    description: Answered 9 or 10
    owner: research
    hypothesis: They refer others
    version: 1
    kind: rule
    rule: nps >= 9 and colour is not null and wants_newsletter
`;

const answers: [string, string, string, string, string][] = [
  // user, survey, question, answer, responded_at
  ['u1', 'onboarding', 'how_likely_to_recommend', '7', '2026-01-01T00:00:00Z'],
  ['u1', 'followup', 'how_likely_to_recommend', '10', '2026-02-01T00:00:00Z'],
  ['u1', 'onboarding', 'favourite_colour', 'green', '2026-01-01T00:00:00Z'],
  ['u1', 'followup', 'favourite_colour', 'blue', '2026-03-01T00:00:00Z'], // another survey: not the trait's
  ['u1', 'onboarding', 'newsletter', 'yes', '2026-01-01T00:00:00Z'],
  ['u2', 'onboarding', 'how_likely_to_recommend', '9', '2026-01-01T00:00:00Z'],
  ['u2', 'followup', 'how_likely_to_recommend', 'ten', '2026-02-01T00:00:00Z'], // not a number: skipped
  ['u2', 'onboarding', 'newsletter', 'FALSE', '2026-01-01T00:00:00Z'],
  ['u3', 'onboarding', 'primary_goal', 'grow_revenue', '2026-01-01T00:00:00Z'], // not configured: no column
];

beforeAll(async () => {
  mkdirSync(join(dir, 'segments'));
  writeFileSync(join(dir, 'traits.yml'), TRAITS);
  writeFileSync(join(dir, 'segments', 'psychographic.yml'), SEGMENTS);
  project = await loadTestProject({ SEGLAYER_TRAITS_FILE: join(dir, 'traits.yml'), SEGLAYER_SEGMENTS_DIR: join(dir, 'segments') });
  db = await createTestDatabase({ migrate: false });
  await db.knex.raw(`create schema core;
    create table core.dim_users (user_key text primary key);
    create table core.user_survey (user_key text, survey text, question text, answer text, responded_at timestamptz);
    insert into core.dim_users values ('u1'), ('u2'), ('u3'), ('u4');`);
  await db.knex.raw(`insert into core.user_survey values ${answers.map(() => '(?, ?, ?, ?, ?)').join(', ')}`, answers.flat());
});
afterAll(() => db?.drop());

it('turns every configured question into a typed feature column, and nothing else', () => {
  const catalog = project.featureCatalog.catalog;
  expect([catalog.get('nps'), catalog.get('colour'), catalog.get('wants_newsletter')]).toEqual(['number', 'text', 'boolean']);
  expect(catalog.has('primary_goal') || catalog.has('tech_savviness')).toBe(false);
  const model = project.models.find((m) => m.name === 'features.user_traits')!;
  expect(Object.entries(model.columns).map(([name, c]) => [name, c.type])).toEqual([['user_key', 'text'], ['nps', 'integer'], ['colour', 'text'], ['wants_newsletter', 'boolean']]);
  expect(project.segments.map((s) => s.name)).toEqual(['promoters']);
});

it('holds the latest valid answer to each question, per user, equal to an independent computation', async () => {
  const model = project.models.find((m) => m.name === 'features.user_traits')!;
  const query = model.build(db.knex, { ref: (name: string) => db.knex.raw(name) } as never) as Knex.Raw;
  const { rows } = await db.knex.raw(`select * from (${query.toQuery()}) t order by user_key`);
  const latest = (user: string, question: string, valid: (a: string) => boolean, survey?: string) =>
    answers.filter((a) => a[0] === user && a[2] === question && (!survey || a[1] === survey) && valid(a[3])).sort((a, b) => b[4].localeCompare(a[4]))[0]?.[3];
  const expected = ['u1', 'u2', 'u3', 'u4'].map((u) => {
    const nps = latest(u, 'how_likely_to_recommend', (a) => /^-?\d+$/.test(a));
    const news = latest(u, 'newsletter', (a) => ['true', 'false', 'yes', 'no'].includes(a.toLowerCase()));
    return { user_key: u, nps: nps === undefined ? null : Number(nps), colour: latest(u, 'favourite_colour', () => true, 'onboarding') ?? null, wants_newsletter: news === undefined ? null : ['true', 'yes'].includes(news.toLowerCase()) };
  });
  expect(rows).toEqual(expected);
  expect(rows[0]).toEqual({ user_key: 'u1', nps: 10, colour: 'green', wants_newsletter: true });
  expect(rows[1]).toMatchObject({ nps: 9, wants_newsletter: false });
});

it('refuses a trait that clashes with a features column, naming traits.yml', async () => {
  writeFileSync(join(dir, 'bad.yml'), `traits:\n  - name: plan\n    question: plan\n    type: text\n    description: clash\n`);
  const error = await loadTestProject({ SEGLAYER_TRAITS_FILE: join(dir, 'bad.yml'), SEGLAYER_SEGMENTS_DIR: join(dir, 'segments') }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  expect((error as Error).message).toMatch(/bad\.yml.*trait "plan" is already a column of features\.user_features/s);
});
