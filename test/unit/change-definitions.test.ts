/** changes/*.yml: a valid change loads with its segments filled in; every mistake is reported with file:line:column and field. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChangeDefinitionError, loadChangeDefinitions } from '../../src/changes/change-files.ts';

const SEGMENTS = [{ name: 'mobile_users', kind: 'rule' }, { name: 'desktop_users', kind: 'rule' }, { name: 'rfm', kind: 'rfm' }] as const;

function load(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'seglayer-changes-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return loadChangeDefinitions(dir, SEGMENTS, dir);
}

function problems(files: Record<string, string>): string[] {
  try {
    load(files);
  } catch (error) {
    expect(error).toBeInstanceOf(ChangeDefinitionError);
    return (error as ChangeDefinitionError).message.split('\n').slice(1).map((l) => l.trim());
  }
  throw new Error('expected the definitions to be refused');
}

const VALID = `name: share_sheet
title: Share sheet
description: Reports can be shared from the mobile app.
owner: growth
released_at: 2025-10-01
exposed: { definition: mobile_users }
comparison: { definition: desktop_users }
pre_days: 28
post_days: 28
metrics:
  - name: shared
    type: binomial
    measure: { events: [report_shared] }
`;

describe('change definitions', () => {
  it('a valid file loads: a date is 00:00 UTC, segments default to the rule definition, alpha to 0.05', () => {
    const [change] = load({ 'share.yml': VALID });
    expect(change).toMatchObject({
      name: 'share_sheet', released_at: '2025-10-01T00:00:00.000Z', alpha: 0.05, file: 'share.yml',
      exposed: { definition: 'mobile_users', segment: 'mobile_users' }, comparison: { definition: 'desktop_users', segment: 'desktop_users' },
    });
    const [other] = load({ 'a.yml': VALID.replace('comparison: { definition: desktop_users }', 'comparison: everyone_else').replace('released_at: 2025-10-01', 'released_at: 2025-10-01T09:30:00+02:00') });
    expect(other).toMatchObject({ comparison: 'everyone_else', released_at: '2025-10-01T07:30:00.000Z' });
  });

  it('reports schema mistakes with file:line:column and the field', () => {
    const bad = VALID.replace('released_at: 2025-10-01', 'released_at: last tuesday')
      .replace('pre_days: 28', 'pre_days: 7')
      .replace('type: binomial', 'type: ratio')
      .replace('comparison: { definition: desktop_users }', 'comparison: everybody');
    expect(problems({ 'share.yml': bad })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^share\.yml:5:14 released_at: a date \(YYYY-MM-DD\) or a timestamp/),
        expect.stringMatching(/^share\.yml:7:13 comparison: /),
        expect.stringMatching(/^share\.yml:8:11 pre_days: at least 14 days: the parallel-trends check needs two whole weeks/),
        expect.stringMatching(/^share\.yml:12:11 metrics\.0\.type: /),
      ]),
    );
    expect(problems({ 'share.yml': VALID.replace('released_at: 2025-10-01', 'released_at: 2025-02-30') })).toEqual([expect.stringMatching(/^share\.yml:5:14 released_at: not a real date/)]);
  });

  it('reports unknown segments, a segment missing from a many-segment definition, and the same group twice, located', () => {
    const semantic = VALID.replace('exposed: { definition: mobile_users }', 'exposed: { definition: phones }').replace('comparison: { definition: desktop_users }', 'comparison: { definition: rfm }');
    expect(problems({ 'share.yml': semantic })).toEqual([
      expect.stringMatching(/^share\.yml:6:24 exposed\.definition: unknown segment definition "phones"; known: desktop_users, mobile_users, rfm \(change "share_sheet"\)/),
      expect.stringMatching(/^share\.yml:7:13 comparison: "rfm" is a rfm definition with several segments: name one with segment:/),
    ]);
    const same = VALID.replace('comparison: { definition: desktop_users }', 'comparison: { definition: mobile_users, segment: mobile_users }');
    expect(problems({ 'share.yml': same })).toEqual([expect.stringMatching(/^share\.yml:7:13 comparison: the comparison group is the exposed segment itself/)]);
  });

  it('refuses session counts, duplicate metric and change names, and unknown keys', () => {
    const sessions = VALID.replace('measure: { events: [report_shared] }', 'measure: { events: [report_shared], value: sessions }');
    expect(problems({ 'a.yml': sessions })).toEqual([expect.stringMatching(/^a\.yml:13:48 metrics\.0\.measure\.value: changes count events or sum revenue_usd/)]);
    expect(problems({ 'a.yml': VALID, 'b.yml': VALID })).toEqual([expect.stringMatching(/^b\.yml:1:7 name: duplicate change name, also in a\.yml/)]);
    expect(problems({ 'a.yml': VALID.replace('owner: growth', 'owner: growth\nstatus: live') })[0]).toMatch(/^a\.yml:5:1 .*status/);
    const twice = `${VALID}  - name: shared\n    type: mean\n    measure: { events: [report_shared] }\n`;
    expect(problems({ 'a.yml': twice })).toEqual([expect.stringMatching(/^a\.yml:14:11 metrics\.1\.name: metric "shared" is defined twice/)]);
  });
});
