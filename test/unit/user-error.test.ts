/**
 * One shape for every mistake a user can fix (src/errors/): issues in Zod's shape with
 * file, line and column, one formatter, and one YAML locator shared by every file reader.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssue, UserError } from '../../src/errors/user-error.js';
import { issuesInYaml, parseYamlFile, yamlLocation } from '../../src/errors/yaml-location.js';
import { ConfigError } from '../../src/config.ts';
import { LoadError } from '../../src/load/batch-loader.ts';
import { StatisticsError } from '../../src/stats/statistics-error.ts';

describe('UserError', () => {
  it('carries issues and formats them as file:line:column path: message', () => {
    const error = new UserError([
      { code: 'invalid_type', path: ['roles', 'viewer'], message: 'must be a mapping', file: 'governance.yml', line: 9, column: 3 },
      { code: 'custom', path: [], message: 'no roles at all' },
    ], { heading: 'invalid access policy' });
    expect(error.message).toBe('invalid access policy:\n  governance.yml:9:3 roles.viewer: must be a mapping\n  no roles at all');
    expect(error.issues).toHaveLength(2);
    expect(formatIssue({ code: 'x', path: ['a'], message: 'm', file: 'f.yml' })).toBe('f.yml a: m');
  });

  it('is what every area error is, so the CLI needs no list of classes', () => {
    for (const error of [new ConfigError('x'), new LoadError('x'), new StatisticsError('too_few_units', 'control.n', 'needs 2')]) {
      expect(error).toBeInstanceOf(UserError);
      expect(error.name).toBe(error.constructor.name);
    }
    expect(new LoadError('nothing loaded').message).toBe('nothing loaded');
    expect(new StatisticsError('too_few_units', 'control.n', 'needs at least 2 units').issues).toEqual([{ code: 'too_few_units', path: ['control', 'n'], message: 'needs at least 2 units' }]);
  });
});

describe('yamlLocation and issuesInYaml', () => {
  const text = 'a:\n  b: 1\n  c:\n    - x\n    - 7\nempty:\n';
  const { doc, lineCounter, issues: unreadable } = parseYamlFile(text, 'x.yml');

  it('finds values, empty values, keys, and the nearest ancestor of a missing path', () => {
    expect(unreadable).toEqual([]);
    expect(yamlLocation(doc, lineCounter, ['a', 'b'])).toEqual({ line: 2, column: 6 });
    expect(yamlLocation(doc, lineCounter, ['a', 'c', 1])).toEqual({ line: 5, column: 7 });
    expect(yamlLocation(doc, lineCounter, ['a', 'b'], { key: true })).toEqual({ line: 2, column: 3 });
    expect(yamlLocation(doc, lineCounter, ['empty'])).toEqual({ line: 6, column: 7 }); // the empty value, just after the colon
    expect(yamlLocation(doc, lineCounter, ['a', 'zzz', 3])).toEqual({ line: 2, column: 3 });
  });

  it('turns zod issues into issues with file, line and column, one per unknown key', () => {
    const schema = z.object({ a: z.object({ b: z.string(), c: z.array(z.string()) }).strict() }).strict();
    const parsed = schema.safeParse(doc.toJS());
    expect(parsed.success).toBe(false);
    const issues = issuesInYaml(parsed.error!.issues, { doc, lineCounter, file: 'x.yml' });
    expect(issues.map(formatIssue)).toEqual([
      'x.yml:2:6 a.b: Invalid input: expected string, received number',
      'x.yml:5:7 a.c.1: Invalid input: expected string, received number',
      'x.yml:6:1 empty: unknown key',
    ]);
  });
});
