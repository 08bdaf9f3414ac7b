/** The fingerprint that decides whether an incremental build may judge only the rows it adds. */
import { expect, it } from 'vitest';
import { testsFingerprint } from '../../src/models/tests-fingerprint.ts';

const model = (tests: unknown[], table: { unique_combination: string[] }[] = []) =>
  ({ columns: { id: { description: 'id', tests }, v: { description: 'v', tests: [] } }, tests: table }) as Parameters<typeof testsFingerprint>[0];

it('is the same for the same declared tests and changes with any of them', () => {
  const base = testsFingerprint(model(['not_null', 'unique']));
  expect(testsFingerprint(model(['not_null', 'unique']))).toBe(base);
  const others = [
    model(['not_null']),
    model(['not_null', 'unique', { expression: 'id > 0' }]),
    model([{ accepted_values: ['a'] }]),
    model([{ accepted_values: ['a', 'b'] }]),
    model(['not_null', 'unique'], [{ unique_combination: ['id', 'v'] }]),
  ].map(testsFingerprint);
  expect(new Set([base, ...others]).size).toBe(others.length + 1);
});
