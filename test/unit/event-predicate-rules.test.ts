/**
 * Event predicates in the rule language: what they accept, that every value they
 * carry (event and property names, counts, durations) is a binding and never SQL
 * text, and what they refuse, at which position. Their results are tested on
 * PostgreSQL in test/integration/event-predicates.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { compileRule, type FeatureCatalog } from '../../src/segments/rule-compiler.ts';
import { RuleSyntaxError } from '../../src/segments/rule-parser.ts';

const catalog: FeatureCatalog = new Map([['plan', 'text'], ['age', 'number']]);

const refused = (rule: string) => {
  try {
    compileRule(rule, catalog);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleSyntaxError);
    return error as RuleSyntaxError;
  }
  throw new Error(`accepted: ${rule}`);
};
const allBindings = (rule: string) => {
  const c = compileRule(rule, catalog, 'f');
  const p = c.eventParts;
  return [...c.bindings, ...[...p.events, ...p.outcomes, ...p.sequences].flatMap((x) => x.bindings)];
};
const allSql = (rule: string) => {
  const c = compileRule(rule, catalog, 'f');
  const p = c.eventParts;
  return [c.sql, ...[...p.events, ...p.outcomes, ...p.sequences].map((x) => x.sql)].join('\n');
};

describe('event predicates', () => {
  it('accept every kind, mixed with features', () => {
    for (const rule of [
      "performed('export', where: format = 'csv' and size > 3) >= 3 in last 14 days and plan = 'pro'",
      "performed('export') between 30 and 90 days ago",
      "performed('export', distinct: format) >= 2 in first 7 days after signup",
      "first_performed('share') in last 7 days or age > 30",
      "stopped_performing('login', 30 days)",
      "restarted_performing('login', 2 weeks)",
      "regularly('login', 2 times per 7 days, in 3 of the last 4 periods)",
      "sequence('login', 'export', within: 1 day) in last 30 days",
      "purchased(where: plan = 'pro') >= 2 in last 90 days and not churned() in last 30 days and revenue() >= 99.5",
      "upgraded() and not downgraded() and refunded() = 0",
    ]) expect(() => compileRule(rule, catalog, 'f'), rule).not.toThrow();
  });

  it('bind every name, count and duration; none of them appears in the SQL', () => {
    const rule = "performed('x_event', where: x_prop = 'x_value' and x_num > 7777) >= 4242 in last 14 days or sequence('x_a', 'x_b', within: 3 hours)";
    const sql = allSql(rule);
    for (const word of ['x_event', 'x_prop', 'x_value', '7777', '4242', 'x_a', 'x_b', '336']) expect(sql).not.toContain(word);
    expect(allBindings(rule)).toEqual(expect.arrayContaining(['x_event', 'x_prop', 'x_value', 7777, 4242, 'x_a', 'x_b', 336, 3]));
  });

  it('never quotes user text into SQL, even text that looks like SQL', () => {
    const rule = "performed('a''); drop table x; --', where: p = ''' or 1=1 --') >= 1";
    expect(allSql(rule)).not.toMatch(/drop table|1=1/);
    expect(allBindings(rule)).toEqual(expect.arrayContaining(["a'); drop table x; --", "' or 1=1 --"]));
  });

  it('count a day as 24 hours from the reference time, never from now()', () => {
    const sql = allSql("performed('e') in last 2 days");
    expect(sql).toContain("r.as_of_at - ?::int * interval '1 hour'");
    expect(sql).not.toMatch(/now\(\)|current_/);
    expect(allBindings("performed('e') in last 2 days")).toContain(48);
  });

  it.each([
    ["performed(export) >= 1", 'an event name in single quotes', 10],
    ["performed('e') >= 1.5", 'a count (a whole number ≥ 0)', 18],
    ["performed('e') >= 1 in last 0 days", 'a duration (a whole number 1–87600)', 28],
    ["performed('e') >= 1 in last 3 fortnights", 'a unit (hours, days or weeks)', 30],
    ["performed('e') between 90 and 30 days ago", 'the first number must be the smaller', 23],
    ["first_performed('e') >= 2", 'is a condition, not a number', 21],
    ["sequence('a', 'b')", 'needs within:', 0],
    ["regularly('e', 2 times per 7 days, in 5 of the last 4 periods)", '5 is more than 4', 38],
    ["performed('e', where: performed('f')) >= 1", 'cannot be used inside where:', 22],
    ["performed('e', within: 1 day)", 'does not take within:', 15],
    ["purchased(where: colour = 'red')", 'unknown outcome column "colour"', 17],
    ["purchased(where: amount = 'x')", 'outcome column amount is number', 17],
    ['revenue() in last 7 days', 'revenue() is an amount: compare it', 10],
    ["performed('e', where: a = b) >= 1", 'compare a property with a value', 26],
  ])('refuses %s', (rule, message, at) => {
    const error = refused(rule);
    expect(error.message).toContain(message);
    expect(error.at).toBe(at);
  });
});
