/** Terminal output helpers: aligned tables, numbers, colour only on a TTY. */
import { styleText } from 'node:util';

const colour = process.stdout.isTTY && !process.env.NO_COLOR;
type Style = Parameters<typeof styleText>[0];
const paint = (style: Style) => (text: string) => (colour ? styleText(style, text) : text);

export const bold = paint('bold');
export const dim = paint('dim');
export const green = paint('green');
export const red = paint('red');
export const yellow = paint('yellow');

export const count = (n: number) => n.toLocaleString('en-US');
export const seconds = (s: number) => `${s.toFixed(s < 10 ? 2 : 1)} s`;
export const gigabytes = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

/** Left-aligned columns; numbers right-aligned. */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? count(cell) : cell)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row) =>
      row.map((cell, i) => (typeof rows[0]![i] === 'number' || /^[\d,.]+$/.test(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd(),
    )
    .join('\n');
}

export const say = (line = '') => process.stdout.write(`${line}\n`);
export const progress = (line: string) => process.stderr.write(`${line}\n`);
