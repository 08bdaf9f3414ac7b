/**
 * The Cube view experiment_results through the real gateway and Cube server:
 * the rows marts.experiment_results holds (checked against SQL on the same
 * table), and nothing for a region-scoped caller (results span every region).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, startApiFixture } from '../support/api-fixture.ts';

let api: ApiFixture;

beforeAll(async () => {
  // The fixture builds as `build` does, experiment results included.
  api = await startApiFixture({ users: 400 });
}, 600_000);
afterAll(() => api?.close());

describe('experiment_results view', () => {
  it('serves each segment × metric result as marts.experiment_results holds it', async () => {
    const admin = await api.token({ role: 'admin' });
    const expected = await api.sql<{ segment: string; metric: string; effect: number | null; adjusted_p_value: number | null; control_n: number }>(
      `select segment, metric, effect, adjusted_p_value, control_n from marts.experiment_results where experiment = 'onboarding_checklist' order by segment, metric`,
    );
    expect(expected.length).toBe(16);
    const rows = (await api.rest(admin).load({
      dimensions: ['experiment_results.segment', 'experiment_results.metric', 'experiment_results.effect', 'experiment_results.adjusted_p_value', 'experiment_results.control_n'],
      filters: [{ member: 'experiment_results.experiment', operator: 'equals', values: ['onboarding_checklist'] }],
      order: [['experiment_results.segment', 'asc'], ['experiment_results.metric', 'asc']],
    })).rawData() as Record<string, unknown>[];
    const num = (v: unknown) => (v === null ? null : Number(v));
    expect(rows.map((r) => [r['experiment_results.segment'], r['experiment_results.metric'], num(r['experiment_results.effect']), num(r['experiment_results.adjusted_p_value']), num(r['experiment_results.control_n'])]))
      .toEqual(expected.map((e) => [e.segment, e.metric, expect.closeTo(e.effect ?? NaN, 9), expect.closeTo(e.adjusted_p_value ?? NaN, 9), e.control_n]));
  });

  it('a region-scoped caller sees no experiment rows', async () => {
    const regional = await api.token({ role: 'analyst', region: 'Europe' });
    const rows = (await api.rest(regional).load({ measures: ['experiment_results.count'] })).rawData() as Record<string, unknown>[];
    expect(Number(rows[0]?.['experiment_results.count'] ?? 0)).toBe(0);
  });
});
