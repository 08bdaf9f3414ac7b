/**
 * Segment definitions are checked before anything runs, and every mistake is named
 * with its file, line and field. Also: the definitions in segments/ are valid and the
 * generated Cube model matches them (the drift check).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderSegmentCube, segmentCubeIsCurrent } from '../../src/segments/segment-cube.ts';
import { definitionHash } from '../../src/segments/definition-hash.ts';
import { loadSegmentDefinitions, SegmentDefinitionError } from '../../src/segments/segment-files.ts';
import { refitAfterInterval } from '../../src/segments/segment-definition.ts';
import { loadTestProject } from '../support/test-project.ts';
const PROJECT_ROOT = join(import.meta.dirname, '../..');

const project = await loadTestProject();
const { catalog } = project.featureCatalog;

const HEADER = `family: behavioural
segments:
`;
const rule = (name: string, ruleText: string) => `  - name: ${name}
    title: T
    description: D
    owner: o
    hypothesis: H
    version: 1
    kind: rule
    rule: ${ruleText}
`;

function problemsOf(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'seglayer-segments-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  try {
    loadSegmentDefinitions(dir, catalog, dir);
  } catch (error) {
    expect(error).toBeInstanceOf(SegmentDefinitionError);
    return (error as SegmentDefinitionError).problems;
  }
  return [];
}

describe('definition errors name file, line, column and field', () => {
  it('a YAML alias bomb is refused with file:line, not expanded', () => {
    // Nine levels of nine aliases would expand to 387M strings if anything expanded it.
    const levels = Array.from({ length: 9 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(', ')}]`);
    const bomb = `x:\n  l0: &l0 "lol"\n${levels.map((l) => `  ${l}`).join('\n')}\n${HEADER}${rule('a', 'true')}`;
    expect(problemsOf({ 'bomb.yml': bomb })).toEqual(['bomb.yml:3: YAML aliases (*l0) are not accepted; write the value out']);
  });

  it('unknown feature, with line and column', () => {
    expect(problemsOf({ 'a.yml': HEADER + rule('x', 'first_week_feature >= 3') })).toEqual([
      'a.yml:10:11 segments.0.rule: unknown feature "first_week_feature"; did you mean first_week_features? (segment "x")',
    ]);
  });

  it('type mismatch', () => {
    expect(problemsOf({ 'a.yml': HEADER + rule('x', "country > 3") })[0]).toMatch(/^a\.yml:10:\d+ segments\.0\.rule: type mismatch in ">": country \(text\) vs 3 \(number\) \(segment "x"\)/);
  });

  it('empty rule', () => {
    expect(problemsOf({ 'a.yml': HEADER + rule('x', "''") })).toEqual(['a.yml:10:12 segments.0.rule: the rule is empty (segment "x")']);
  });

  it('duplicate names across files, naming both', () => {
    expect(problemsOf({ 'a.yml': HEADER + rule('same', 'frequency > 1'), 'b.yml': HEADER + rule('same', 'frequency > 2') })).toEqual([
      'b.yml:3:11 segments.0.name: duplicate segment name, also in a.yml (segment "same")',
    ]);
  });

  it('invalid bands: scores outside 1–5, unknown score, duplicate band', () => {
    const rfm = `family: value
segments:
  - name: rfm
    title: T
    description: D
    owner: o
    hypothesis: H
    version: 1
    kind: rfm
    rfm:
      recency: recency_days
      frequency: frequency
      monetary: country
      bands:
        - name: top
          description: d
          rule: r >= 6
        - name: top
          description: d
          rule: x >= 4
`;
    expect(problemsOf({ 'rfm.yml': rfm })).toEqual([
      'rfm.yml:13:17 segments.0.rfm.monetary: feature "country" is not numeric (segment "rfm")',
      'rfm.yml:17:17 segments.0.rfm.bands.0.rule: invalid band: scores are whole numbers 1–5, found 6 (segment "rfm")',
      'rfm.yml:18:17 segments.0.rfm.bands.1.name: duplicate band "top" (segment "rfm")',
      'rfm.yml:20:17 segments.0.rfm.bands.1.rule: unknown feature "x" (segment "rfm")',
    ]);
  });

  it('RFM options: a time recency feature with a reference, scoring methods; a reference on a days feature and an unknown method are refused', () => {
    const rfm = (options: string, recency = 'last_order_at') => `family: value
segments:
  - name: rfm
    title: T
    description: D
    owner: o
    hypothesis: H
    version: 1
    kind: rfm
    rfm:
      recency: ${recency}
      frequency: order_lines
      monetary: monetary_usd
${options}
      bands:
        - name: all
          description: d
          rule: r >= 1
`;
    expect(problemsOf({ 'rfm.yml': rfm('      reference: last_activity_at\n      scoring: { recency: qcut, frequency: rank_first }') })).toEqual([]);
    expect(problemsOf({ 'rfm.yml': rfm('      reference: 2011-12-10T00:00:00Z\n      scoring: qcut') })).toEqual([]);
    expect(problemsOf({ 'rfm.yml': rfm('      reference: as_of_at', 'recency_days') })).toEqual([
      'rfm.yml:14:18 segments.0.rfm.reference: reference applies to a time recency feature (e.g. last_order_at); "recency_days" is already measured to as_of_at (segment "rfm")',
    ]);
    const [bad] = problemsOf({ 'rfm.yml': rfm('      scoring: { frequency: quartiles }') });
    expect(bad).toMatch(/^rfm\.yml:14:\d+ segments\.0\.rfm\.scoring/);
    expect(problemsOf({ 'rfm.yml': rfm('', 'signed_up_at').replace('frequency: order_lines', 'frequency: last_order_at') })).toEqual([
      'rfm.yml:12:18 segments.0.rfm.frequency: feature "last_order_at" is not numeric (segment "rfm")',
    ]);
  });

  it('refresh: each_build or incremental; an unknown policy, and incremental on RFM, are refused at the field', () => {
    expect(problemsOf({ 'a.yml': HEADER + rule('x', 'frequency > 1') + '    refresh: incremental\n' })).toEqual([]);
    expect(problemsOf({ 'a.yml': HEADER + rule('x', 'frequency > 1') + '    refresh: each_build\n' })).toEqual([]);
    const [unknown, ...rest] = problemsOf({ 'a.yml': HEADER + rule('x', 'frequency > 1') + '    refresh: hourly\n' });
    expect(rest).toEqual([]);
    expect(unknown).toMatch(/^a\.yml:11:14 segments\.0\.refresh: .*each_build.*incremental/);
    const rfm = `family: value
segments:
  - name: rfm
    title: T
    description: D
    owner: o
    hypothesis: H
    version: 1
    kind: rfm
    refresh: incremental
    rfm:
      recency: recency_days
      frequency: order_lines
      monetary: monetary_usd
      bands:
        - name: all
          description: d
          rule: r >= 1
`;
    expect(problemsOf({ 'rfm.yml': rfm })).toEqual([
      'rfm.yml:10:14 segments.0.refresh: refresh: incremental is for rule segments; RFM scores rank the whole population, so every build recomputes them (use each_build) (segment "rfm")',
    ]);
  });

  it('the refresh policy is not part of the content hash: changing it keeps the version', () => {
    const base = project.segments.find((d) => d.kind === 'rule')!;
    expect(definitionHash({ ...base, refresh: 'incremental' })).toBe(definitionHash({ ...base, refresh: undefined }));
  });

  it('the content hash follows what a definition computes, not its documentation', () => {
    const base = project.segments.find((d) => d.name === 'rfm')!;
    expect(base.kind).toBe('rfm');
    if (base.kind !== 'rfm') return;
    const documented = { ...base, title: 'Other', description: 'Other', owner: 'x', hypothesis: 'y', version: 7, rfm: { ...base.rfm, bands: base.rfm.bands.map((b) => ({ ...b, description: 'z' })) } };
    expect(definitionHash(documented)).toBe(definitionHash(base));
    expect(definitionHash({ ...base, rfm: { ...base.rfm, scoring: 'qcut' as const } })).not.toBe(definitionHash(base));
    expect(definitionHash({ ...base, rfm: { ...base.rfm, bands: base.rfm.bands.map((b, i) => (i === 0 ? { ...b, rule: 'r >= 5' } : b)) } })).not.toBe(definitionHash(base));
  });

  it('refit_after: a span such as 7d, refused with file:line:column otherwise; when, not what (the hash stays)', () => {
    const cluster = (refitAfter: string) => `${HEADER}  - name: c
    title: T
    description: D
    owner: o
    hypothesis: H
    version: 1
    kind: cluster
    cluster:
      k: 2
      seed: 1
      features: [sessions]
      refit_after: ${refitAfter}
`;
    expect(problemsOf({ 'c.yml': cluster('7d') })).toEqual([]);
    expect(problemsOf({ 'c.yml': cluster('12h') })).toEqual([]);
    expect(problemsOf({ 'c.yml': cluster('7 days') })).toEqual([
      'c.yml:14:20 segments.0.cluster.refit_after: a span of reference time such as 12h, 7d or 2w (0d refits on every build)',
    ]);
    const base = project.segments.find((d) => d.name === 'engagement')!;
    if (base.kind !== 'cluster') throw new Error('engagement is a cluster definition');
    expect(refitAfterInterval(base)).toBe('7 days'); // the default
    expect(refitAfterInterval({ ...base, cluster: { ...base.cluster, refit_after: '2w' } })).toBe('2 weeks');
    expect(definitionHash({ ...base, cluster: { ...base.cluster, refit_after: '0d' } })).toBe(definitionHash(base));
    expect(definitionHash({ ...base, cluster: { ...base.cluster, seed: base.cluster.seed + 1 } })).not.toBe(definitionHash(base));
  });

  it('schema problems: missing hypothesis, unknown kind, bad name', () => {
    const problems = problemsOf({ 'a.yml': `segments:\n  - name: Bad-Name\n    title: T\n    kind: magic\n` });
    expect(problems.join('\n')).toMatch(/a\.yml:4:11 segments\.0\.kind: /);
    const missing = problemsOf({ 'a.yml': HEADER + rule('x', 'frequency > 1').replace('    hypothesis: H\n', '') });
    expect(missing).toEqual(['a.yml:3:5 segments.0.hypothesis: Invalid input: expected string, received undefined']);
  });

  it('"all" is reserved, as a definition name and as a band name: the marts\' everyone rows use it', () => {
    expect(problemsOf({ 'a.yml': HEADER + rule('all', 'frequency > 1') })).toEqual([
      `a.yml:3:11 segments.0.name: "all" is reserved: the marts' rows for everyone use it`,
    ]);
    expect(problemsOf({ 'a.yml': HEADER + rule('all_buyers', 'frequency > 1') })).toEqual([]);
  });

  it('claims: a known metric and direction, and a segment the definition has', () => {
    const withClaim = (claim: string) => HEADER + rule('x', 'frequency > 1').replace('    version: 1\n', `    claim: ${claim}\n    version: 1\n`);
    expect(problemsOf({ 'a.yml': withClaim('{ metric: upgrade_rate, direction: higher }') })).toEqual([]);
    expect(problemsOf({ 'a.yml': withClaim('{ metric: happiness, direction: higher }') }).join('\n')).toMatch(/a\.yml:8:\d+ segments\.0\.claim\.metric: /);
    expect(problemsOf({ 'a.yml': withClaim('{ metric: upgrade_rate, direction: higher, segment: y }') }).join('\n')).toMatch(/a\.yml:8:\d+ segments\.0\.claim\.segment: unknown segment "y"; one of x/);
  });

  it('SQL pasted into a rule is refused, not run', () => {
    expect(problemsOf({ 'a.yml': HEADER + rule('x', "\"frequency > 1; drop table core.dim_users\"") })[0]).toMatch(/";" is not part of the rule language/);
  });
});

describe('the project\'s own definitions', () => {
  it('are valid, and the generated Cube model matches them (regenerate with `seglayer segments cube`)', () => {
    const definitions = project.segments;
    expect(definitions.length).toBeGreaterThan(0);
    expect(segmentCubeIsCurrent(PROJECT_ROOT, definitions)).toBe(true);
  });

  it('the generated Cube model has a segment per rule segment, band and cluster', () => {
    const text = renderSegmentCube(project.segments);
    for (const d of project.segments) {
      if (d.kind === 'rule') expect(text).toContain(`name: ${d.name}\n`);
      if (d.kind === 'rfm') for (const band of d.rfm.bands) expect(text).toContain(`name: ${d.name}_${band.name}\n`);
      if (d.kind === 'cluster') expect(text).toContain(`name: ${d.name}_cluster_${d.cluster.k}\n`);
    }
  });
});
