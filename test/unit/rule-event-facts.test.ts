/**
 * Which rules read segments.rule_event_facts (src/segments/rule-event-facts.ts): only those whose
 * event columns are all counts with no window or one after signup; anything that reads the
 * reference time keeps scanning the events. Values stay bindings, and the hash follows what
 * the facts compute. The rows themselves are tested on PostgreSQL in
 * test/integration/rule-event-facts.test.ts and incremental-equals-full.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ruleFacts } from '../../src/segments/rule-event-facts.ts';
import type { FeatureCatalog } from '../../src/segments/rule-compiler.ts';
import type { RuleSegment } from '../../src/segments/segment-definition.ts';

const catalog: FeatureCatalog = new Map([['plan', 'text'], ['age', 'number']]);
const rule = (text: string, name = 'r') => ({ kind: 'rule', name, version: 1, rule: text }) as unknown as RuleSegment;

describe('rule event facts', () => {
  it('keep counts with no window or a window after signup, with features beside them', () => {
    for (const text of [
      "performed('feature_used', distinct: feature) >= 3 in first 7 days after signup",
      "performed('export') >= 2 and plan = 'pro'",
      "performed('export', where: format = 'csv') >= 1 in first 2 weeks after signup or performed('share') > 4",
    ]) expect(ruleFacts(rule(text), catalog), text).toBeDefined();
  });

  it('leave rules that read the reference time, or have no event counts, to the scan', () => {
    for (const text of [
      "performed('export') >= 2 in last 14 days",
      "performed('export') >= 2 and performed('share') between 30 and 90 days ago",
      "first_performed('share') in first 7 days after signup",
      "stopped_performing('login', 30 days)",
      "sequence('signed_in', 'export', within: 1 hour)",
      'purchased() >= 1',
      "plan = 'pro'",
    ]) expect(ruleFacts(rule(text), catalog), text).toBeUndefined();
  });

  it('bind every value and hash what the facts compute', () => {
    const facts = ruleFacts(rule("performed('export', where: format = 'csv') >= 2 in first 7 days after signup"), catalog)!;
    const rows = facts.rows('core.fct_events', 'core.dim_users');
    expect(rows.sql).not.toMatch(/'(export|csv|format|r|p1)'/);
    expect(rows.bindings).toEqual(expect.arrayContaining([facts.hash, 'r', 'export', 'csv', 'format', 168, 'p1']));
    expect(facts.eventNames).toEqual(['export']);
    const other = (text: string, name?: string) => ruleFacts(rule(text, name), catalog)!.hash;
    expect(other("performed('export', where: format = 'csv') >= 5 in first 7 days after signup")).toBe(facts.hash); // the threshold is the rule's, not the fact's
    expect(other("performed('export', where: format = 'csv') >= 2 in first 8 days after signup")).not.toBe(facts.hash);
    expect(other("performed('export', where: format = 'csv') >= 2 in first 7 days after signup", 'other')).not.toBe(facts.hash);
  });
});
