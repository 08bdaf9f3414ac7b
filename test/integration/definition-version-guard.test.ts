/**
 * A segment definition that computes something new under a version already built is
 * refused, with a message to raise `version`, and records no membership changes; the
 * same change under a new version builds and starts over. Documentation-only edits
 * (description, title) need no new version.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { readMappingFile } from '../../src/load/mapping-file.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { writeRetailSlice } from '../support/online-retail-csv.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
const segmentsDir = mkdtempSync(join(tmpdir(), 'seglayer-guard-'));

function writeDefinition(rule: string, version: number, description = 'Customers with repeat orders.') {
  writeFileSync(
    join(segmentsDir, 'repeat.yml'),
    `family: value
segments:
  - name: repeat_buyers
    title: Repeat buyers
    description: ${description}
    owner: crm
    hypothesis: They buy again; we will know from next month's orders.
    version: ${version}
    kind: rule
    rule: ${rule}
`,
  );
}

const buildOnce = async () => runModels(db.knex, db.url, (await loadTestProject({ SEGLAYER_SEGMENTS_DIR: segmentsDir })).models);
const historyRows = async () => Number((await db.knex.raw(`select count(*) from segments.membership_history`)).rows[0].count);

beforeAll(async () => {
  db = await createTestDatabase();
  const mapping = readMappingFile(join(PROJECT_ROOT, 'mappings/online_retail.yml'));
  await loadFile(db.url, writeRetailSlice(20_000), { into: mapping.into, timezone: mapping.timezone, mapping: mapping.mapping });
}, 300_000);
afterAll(() => db?.drop());

describe('definition content hash', () => {
  it('refuses a changed definition under the same version, then builds it under a new one', async () => {
    writeDefinition('frequency >= 2', 1);
    expect((await buildOnce()).ok).toBe(true);
    const history = await historyRows();
    expect(history).toBeGreaterThan(0);

    // A description edit computes the same: accepted.
    writeDefinition('frequency >= 2', 1, 'Customers who came back for a second order.');
    expect((await buildOnce()).ok).toBe(true);
    expect(await historyRows()).toBe(history);

    writeDefinition('frequency >= 3', 1);
    const refused = await buildOnce();
    const guard = refused.results.find((r) => r.model === 'segments.definition_versions')!;
    expect(guard.status).toBe('error');
    expect(guard.error).toContain('segment "repeat_buyers"');
    expect(guard.error).toContain('raise its version to 2');
    expect(refused.results.find((r) => r.model === 'segments.current_membership')!.status).toBe('skipped');
    expect(await historyRows()).toBe(history);

    writeDefinition('frequency >= 3', 2);
    expect((await buildOnce()).ok).toBe(true);
    const { rows } = await db.knex.raw(`select definition, version, content_hash from segments.definition_versions order by version`);
    expect(rows.map((r: { version: number }) => r.version)).toEqual([1, 2]);
    expect(rows[0].content_hash).not.toBe(rows[1].content_hash);
    // Under version 2 the members start over: everyone of version 1 left, the new ones entered.
    const { rows: changes } = await db.knex.raw(`select version, change, count(*)::int as n from segments.membership_history group by 1, 2 order by 1, 2`);
    const [{ n: members2 }] = (await db.knex.raw(`select count(*)::int as n from segments.current_membership where definition = 'repeat_buyers'`)).rows;
    expect(changes).toEqual([
      { version: 1, change: 'entered', n: history },
      { version: 1, change: 'left', n: history },
      { version: 2, change: 'entered', n: members2 },
    ]);
  });
});
