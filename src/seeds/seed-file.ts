/**
 * Seeds: static reference data kept as CSV files in seeds/ (as in dbt), read
 * where they are needed: by a model's build() to select them as a VALUES list
 * with bindings, and by the demo generator, so each table has one copy.
 *
 * A seed file has a header naming exactly the declared columns (any order), one
 * row per line, no blank lines, no empty values. Every problem is reported at
 * once, each as file:line.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import Papa from 'papaparse';
import { UserError } from '../errors/user-error.js';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

/** The committed seeds/ folder. */
export const SEEDS_DIR = join(PROJECT_ROOT, 'seeds');

/** text: the field as written; number: a plain decimal (`-12`, `0.0067`), no exponent or separators. */
export type SeedColumnType = 'text' | 'number';
export type SeedRow<C extends Record<string, SeedColumnType>> = { -readonly [K in keyof C]: C[K] extends 'number' ? number : string };

export class SeedFileError extends UserError {}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** `name` (e.g. `fx_rates`) in seeds/, or a path to a CSV file. */
export function seedPath(name: string): string {
  return name.endsWith('.csv') ? resolve(name) : join(SEEDS_DIR, `${name}.csv`);
}

/** Reads and checks a seed file; throws SeedFileError listing every problem as file:line. */
export function readSeed<C extends Record<string, SeedColumnType>>(path: string, columns: C): SeedRow<C>[] {
  const shown = isAbsolute(path) && path.startsWith(`${PROJECT_ROOT}/`) ? relative(PROJECT_ROOT, path) : path;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SeedFileError(`${shown}: cannot be read: ${(error as Error).message}`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const problems: string[] = [];
  const fields = (line: string, number: number): string[] | undefined => {
    const parsed = Papa.parse<string[]>(line, { delimiter: ',' });
    if (parsed.errors.length || parsed.data.length !== 1) {
      problems.push(`${shown}:${number}: not one CSV row (${parsed.errors[0]?.message ?? 'a quoted value spans lines'})`);
      return undefined;
    }
    return parsed.data[0]!;
  };

  const header = lines.length ? fields(lines[0]!, 1) : undefined;
  if (!header) throw new SeedFileError(problems.length ? problems.join('\n') : `${shown}: empty, expected a header (${Object.keys(columns).join(',')})`);
  const expected = Object.keys(columns);
  const missing = expected.filter((name) => !header.includes(name));
  const unknown = header.filter((name) => !expected.includes(name));
  if (missing.length) problems.push(`${shown}:1: missing column${missing.length > 1 ? 's' : ''} ${missing.map((n) => `"${n}"`).join(', ')} (header: ${header.join(',')})`);
  if (unknown.length) problems.push(`${shown}:1: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} (expected: ${expected.join(',')})`);
  if (new Set(header).size !== header.length) problems.push(`${shown}:1: a column is named twice (header: ${header.join(',')})`);
  if (problems.length) throw new SeedFileError(problems.join('\n'));

  const rows: SeedRow<C>[] = [];
  lines.slice(1).forEach((line, i) => {
    const number = i + 2;
    if (line.trim() === '') return void problems.push(`${shown}:${number}: blank line`);
    const values = fields(line, number);
    if (!values) return;
    if (values.length !== header.length) return void problems.push(`${shown}:${number}: ${values.length} values, expected ${header.length} (${header.join(',')})`);
    const row: Record<string, string | number> = {};
    header.forEach((name, j) => {
      const value = values[j]!;
      if (value === '') problems.push(`${shown}:${number}: ${name}: empty value`);
      else if (columns[name] === 'number') {
        if (DECIMAL.test(value)) row[name] = Number(value);
        else problems.push(`${shown}:${number}: ${name}: "${value}" is not a number (expected a plain decimal such as 1.08)`);
      } else row[name] = value;
    });
    rows.push(row as SeedRow<C>);
  });
  if (!problems.length && !rows.length) problems.push(`${shown}: no rows after the header`);
  if (problems.length) throw new SeedFileError(problems.join('\n'));
  return rows;
}
