/** experiments/*.yml: the repository's own files load; every mistake is reported with file:line:column and field. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExperimentDefinitionError, loadExperimentDefinitions } from '../../src/experiments/experiment-files.ts';
import { loadTestProject } from '../support/test-project.ts';

const SEGMENTS = new Set(['mobile_users', 'desktop_users']);

function load(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'seglayer-experiments-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return loadExperimentDefinitions(dir, SEGMENTS, dir);
}

function problems(files: Record<string, string>): string[] {
  try {
    load(files);
  } catch (error) {
    expect(error).toBeInstanceOf(ExperimentDefinitionError);
    return (error as ExperimentDefinitionError).message.split('\n').slice(1).map((l) => l.trim());
  }
  throw new Error('expected the definitions to be refused');
}

const VALID = `name: checkout_copy
title: Checkout copy
hypothesis: Shorter copy converts more.
owner: growth
control: control
variants:
  - { name: control, weight: 1 }
  - { name: short, weight: 1 }
window_days: 14
metrics:
  - name: purchased
    type: binomial
    measure: { outcomes: [purchase] }
segments: [mobile_users]
`;

describe('experiment definitions', () => {
  it("the repository's experiments load with the project, the demo experiment among them", async () => {
    const project = await loadTestProject();
    const demo = project.experiments.find((e) => e.name === 'onboarding_checklist');
    expect(demo).toBeDefined();
    expect(demo!.control).toBe('control');
    expect(demo!.metrics.map((m) => m.type).sort()).toEqual(['binomial', 'mean', 'mean', 'ratio']);
    expect(demo!.segments).toContain('mobile_users');
  });

  it('a valid file loads with defaults filled in', () => {
    const [experiment] = load({ 'checkout.yml': VALID });
    expect(experiment).toMatchObject({ name: 'checkout_copy', alpha: 0.05, correction: 'bh', file: 'checkout.yml' });
    expect(experiment!.metrics[0]).toMatchObject({ cuped: false, measure: { outcomes: ['purchase'], value: 'count' } });
  });

  it('reports every mistake with file:line:column and the field', () => {
    const bad = VALID.replace('control: control', 'control: baseline')
      .replace('window_days: 14', 'window_days: 0')
      .replace('type: binomial', 'type: median')
      .replace('segments: [mobile_users]', 'segments: [mobile_users, phones]');
    const found = problems({ 'checkout.yml': bad });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^checkout\.yml:9:14 window_days: /),
        expect.stringMatching(/^checkout\.yml:12:11 metrics\.0\.type: /),
      ]),
    );
    // Schema errors stop the semantic checks of that file; fix them and the next layer shows, also located.
    const semantic = problems({ 'checkout.yml': VALID.replace('control: control', 'control: baseline').replace('segments: [mobile_users]', 'segments: [mobile_users, phones]') });
    expect(semantic).toEqual([
      expect.stringMatching(/^checkout\.yml:5:10 control: control "baseline" is not one of the variants \(control, short\)/),
      expect.stringMatching(/^checkout\.yml:14:26 segments\.1: unknown segment definition "phones"/),
    ]);
  });

  it('refuses CUPED on a ratio, duplicate names across files, and unknown keys', () => {
    const ratio = VALID.replace(
      '    type: binomial\n    measure: { outcomes: [purchase] }',
      '    type: ratio\n    numerator: { events: [feature_used] }\n    denominator: { events: [page_viewed], value: sessions }\n    cuped: true',
    );
    expect(problems({ 'a.yml': ratio })).toEqual([expect.stringMatching(/^a\.yml:15:12 metrics\.0\.cuped: CUPED is supported for binomial and mean/)]);
    expect(problems({ 'a.yml': VALID, 'b.yml': VALID })).toEqual([expect.stringMatching(/^b\.yml:1:7 name: duplicate experiment name, also in a\.yml/)]);
    expect(problems({ 'a.yml': VALID.replace('owner: growth', 'owner: growth\nstatus: live') })[0]).toMatch(/^a\.yml:5:1 .*status/);
  });
});
