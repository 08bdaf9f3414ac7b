/**
 * A segment added to segments/ is queryable through the running API after a build, with
 * no restart: the build writes the generated Cube model, Cube recompiles when schema/
 * changes, and the gateway asks Cube for the members it knows on every request (it once
 * kept the list for its lifetime and refused the new members).
 *
 * The test works on a copy of the project (schema/ and segments/ copied, the rest linked),
 * so the repository's own files are never touched while other tests run.
 */
import { cpSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runModels } from '../../src/models/model-runner.ts';
import { writeSegmentCube } from '../../src/segments/segment-cube.ts';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';
import { PROJECT_ROOT } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let api: ApiFixture;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'seglayer-project-'));
  for (const copied of ['schema', 'segments', 'cube.js']) cpSync(join(PROJECT_ROOT, copied), join(root, copied), { recursive: true });
  for (const linked of ['src', 'models', 'migrations', 'seeds', 'mappings', 'node_modules', 'package.json', 'governance.yml', 'traits.yml']) symlinkSync(join(PROJECT_ROOT, linked), join(root, linked));
  api = await startApiFixture({ users: 200, projectRoot: root });
});
afterAll(() => api?.close());

const NEW_SEGMENT = `family: behavioural
segments:
  - name: returning_buyers
    title: Returning buyers
    description: Two or more orders.
    owner: test
    hypothesis: Added while the API runs; it must be queryable after the next build.
    version: 1
    kind: rule
    rule: frequency >= 2
`;

it('a segment added and built while the API runs is answered by it, and equals SQL', async () => {
  const analyst = await api.token({ role: 'analyst', region: 'CA' });
  const query = { measures: ['user_value.count'], segments: ['user_value.returning_buyers'] };
  const before = await fetch(`${api.server.apiUrl}/load?query=${encodeURIComponent(JSON.stringify(query))}`, { headers: { authorization: `Bearer ${analyst}` } });
  expect(before.status).toBe(400);
  expect(await before.text()).toMatch(/unknown member user_value\.returning_buyers/);

  writeFileSync(join(root, 'segments', 'zz_returning.yml'), NEW_SEGMENT);
  const project = await loadTestProject({}, root);
  const build = await runModels(api.db.knex, api.db.url, project.models, { select: ['features.user_features+'] });
  expect(build.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
  expect(writeSegmentCube(root, project.segments)).toBe(true);

  // Cube looks at schema/ at most once a second; give it a few.
  let answer: Response | undefined;
  for (let attempt = 0; attempt < 40; attempt++) {
    answer = await fetch(`${api.server.apiUrl}/load?query=${encodeURIComponent(JSON.stringify(query))}`, { headers: { authorization: `Bearer ${analyst}` } });
    if (answer.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(answer!.status).toBe(200);
  const body = (await answer!.json()) as { data: Record<string, unknown>[]; annotation: { segments: Record<string, { title?: string }> } };
  const served = Number(body.data[0]!['user_value.count']);
  // Cube annotates from the visible members of the model it compiled; the adapter keeps
  // those per compiled model (cube-adapter.ts), so the recompiled model's new member is there.
  expect(body.annotation.segments['user_value.returning_buyers']?.title).toMatch(/returning buyers/i);
  const [expected] = await api.sql<{ n: number }>(`select count(*)::int as n from segments.membership m join core.dim_users u using (user_key)
    where m.definition = 'returning_buyers' and u.region = 'CA'`);
  expect(expected!.n).toBeGreaterThan(0);
  expect(served).toBe(expected!.n);
  // The official client sees the new member in /meta too.
  const meta = await api.rest(analyst).meta();
  expect(JSON.stringify(meta)).toContain('user_value.returning_buyers');
});
