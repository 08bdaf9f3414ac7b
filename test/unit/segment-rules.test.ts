/**
 * The rule language: what it accepts, the SQL and bindings it compiles to, and what it
 * refuses (SQL, quotes, unknown features, wrong types), at which position.
 */
import { describe, expect, it } from 'vitest';
import { compileRule, MAX_RULE_VALUES, type FeatureCatalog } from '../../src/segments/rule-compiler.ts';
import { RuleSyntaxError } from '../../src/segments/rule-parser.ts';

const catalog: FeatureCatalog = new Map([
  ['age', 'number'], ['plan', 'text'], ['has_churned', 'boolean'], ['signed_up_at', 'time'], ['country', 'text'], ['frequency', 'number'],
]);

const refused = (rule: string) => {
  try {
    compileRule(rule, catalog);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleSyntaxError);
    return error as RuleSyntaxError;
  }
  throw new Error(`accepted: ${rule}`);
};

describe('compiling rules', () => {
  it('turns comparisons, lists, ranges and null checks into SQL with bindings', () => {
    const compiled = compileRule("age between 25 and 34 and plan in ('pro', 'team') and not has_churned or country is null", catalog, 'f');
    expect(compiled.sql).toMatchInlineSnapshot(`"(((f."age" between ? and ?) and (f."plan" in (?, ?)) and (not (f."has_churned" is true))) or (f."country" is null))"`);
    expect(compiled.bindings).toEqual([25, 34, 'pro', 'team']);
    expect(compiled.features.sort()).toEqual(['age', 'country', 'has_churned', 'plan']);
  });

  it('accepts != and <>, negative numbers, dates against time features and doubled quotes', () => {
    expect(compileRule("plan != 'free' and age > -1 and signed_up_at >= '2025-01-01' and country = 'Côte d''Ivoire'", catalog).bindings).toEqual(['free', -1, '2025-01-01', "Côte d'Ivoire"]);
  });

  it('keeps injected SQL a value: a quote inside a string is a binding, never SQL', () => {
    const compiled = compileRule("country = 'x'' or 1=1; drop table core.dim_users; --'", catalog);
    expect(compiled.sql).toBe('("country" = ?)');
    expect(compiled.bindings).toEqual(["x' or 1=1; drop table core.dim_users; --"]);
  });

  it('compiles a rule of 10,000 terms, every value a binding', () => {
    const rule = Array.from({ length: 10_000 }, (_, i) => `age = ${i}`).join(' or ');
    const compiled = compileRule(rule, catalog);
    expect(compiled.bindings).toHaveLength(10_000);
    expect(compiled.sql.match(/\?/g)).toHaveLength(10_000);
  });

  it(`refuses a rule with more than ${MAX_RULE_VALUES} values`, () => {
    const rule = `age in (${Array.from({ length: MAX_RULE_VALUES + 1 }, (_, i) => i).join(', ')})`;
    expect(refused(rule).message).toMatch(/more than 20000 values/);
  });
});

describe('refusing rules, with the position of the problem', () => {
  it.each([
    ['', /empty/, 0],
    ['   ', /empty/, 0],
    ['age >= 3; drop table x', /";" is not part of the rule language/, 8],
    ['age >= 3 -- comment', /"-" is not part of the rule language/, 9],
    ['"plan" = \'pro\'', /double quotes are not allowed/, 0],
    ['plan = "pro"', /double quotes are not allowed/, 7],
    ['pg_sleep(10) > 0', /unexpected "\("/, 8],
    ['agee > 3', /unknown feature "agee"; did you mean age/, 0],
    ["age = 'old'", /type mismatch in "=": age \(number\) vs 'old' \(text\)/, 6],
    ['plan > 3', /type mismatch/, 7],
    ['has_churned > true', /booleans compare only with = and <>/, 0],
    ['age', /age \(number\) is not a condition/, 0],
    ["signed_up_at > 'yesterday'", /'yesterday' is not a date/, 15],
    ['age >= ', /expected a feature or a value, found the end of the rule/, 7],
    ['(age > 1', /expected "\)"/, 8],
    ['age > 1 plan', /unexpected "plan"/, 8],
    ["plan in ('a' 'b')", /expected "," or "\)"/, 13],
    ["plan = 'unterminated", /unterminated string/, 7],
    ['not', /expected a feature or a value/, 3],
  ])('%j', (rule, message, at) => {
    const error = refused(rule);
    expect(error.message).toMatch(message);
    expect(error.at).toBe(at);
  });

  it('bounds nesting instead of overflowing the stack', () => {
    expect(refused(`${'('.repeat(5000)}age > 1${')'.repeat(5000)}`).message).toMatch(/nested deeper than 64/);
  });
});
