/**
 * Rules' event and property names against a built event catalog: a typo in an
 * event or property name, or a property read as a type it never arrived as, is a
 * problem at the rule's file:line:column with the nearest known name; known names
 * pass. The catalog tables are written by hand here (the models are tested on demo data).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkEventReferences } from '../../src/segments/event-references.ts';
import type { FeatureCatalog } from '../../src/segments/rule-compiler.ts';
import { loadSegmentDefinitions } from '../../src/segments/segment-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
const catalog: FeatureCatalog = new Map([['plan', 'text']]);

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  await db.knex.raw(`create schema core;
    create table core.event_catalog (event text, events bigint, users bigint, first_seen_at timestamptz, last_seen_at timestamptz);
    create table core.event_properties (event text, property text, json_type text, events bigint, examples text);
    insert into core.event_catalog values ('export', 10, 3, now(), now()), ('feature_used', 5, 2, now(), now());
    insert into core.event_properties values ('export', 'format', 'string', 10, 'csv, pdf'), ('export', 'size', 'number', 8, '3, 12');`);
});
afterAll(() => db?.drop());

const definitions = (rules: string[]) => {
  const root = mkdtempSync(join(tmpdir(), 'seglayer-refs-'));
  const dir = join(root, 'segments');
  mkdirSync(dir);
  const body = rules.map((rule, i) => `  - name: s${i}\n    title: S${i}\n    description: d\n    owner: o\n    hypothesis: h\n    version: 1\n    kind: rule\n    rule: ${JSON.stringify(rule)}\n`).join('');
  writeFileSync(join(dir, 'x.yml'), `segments:\n${body}`);
  return { root, definitions: loadSegmentDefinitions(dir, catalog, root) };
};

it('passes names the catalog knows, read as the types they arrived as', async () => {
  const { root, definitions: ds } = definitions([
    "performed('export', where: format = 'csv' and size > 3) >= 2 in last 14 days and plan = 'pro'",
    "sequence('feature_used', 'export', within: 1 day) or performed('export', distinct: format) >= 2",
  ]);
  expect(await checkEventReferences(db.knex, ds, catalog, root)).toEqual([]);
});

it('names the place of an unknown event, an unknown property and a property read as the wrong type, with the nearest name', async () => {
  const { root, definitions: ds } = definitions([
    "performed('exprot') >= 1",
    "plan = 'pro' and performed('export', where: fromat = 'csv') >= 1",
    "performed('export', where: size = 'big') >= 1",
  ]);
  const issues = await checkEventReferences(db.knex, ds, catalog, root);
  expect(issues.map((i) => [i.file, i.line, i.column, i.message])).toEqual([
    ['segments/x.yml', 9, 22, `unknown event 'exprot' (not in core.event_catalog); did you mean export? (segment "s0")`],
    ['segments/x.yml', 17, 56, `event 'export' has no property "fromat"; did you mean format? (segment "s1")`],
    ['segments/x.yml', 25, 39, `property "size" of 'export' is read as string but was only seen as number (segment "s2")`],
  ]);
});
