/**
 * The UCI Online Retail file read straight from the CSV, for tests that compute figures
 * independently of the warehouse: exact decimals as scaled bigints, InvoiceDate turned
 * from UK local time into UTC with the 2010/2011 UK clock changes written out here.
 */
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import Papa from 'papaparse';
import { sharedDataFile } from './shared-data.ts';

export const ONLINE_RETAIL_FILE = sharedDataFile('online_retail/online_retail.csv.gz');

export interface RetailLine {
  invoice: string;
  /** Empty for guest lines. */
  customer: string;
  /** Whole units. */
  quantity: bigint;
  /** UnitPrice in units of 10^-3 (the file has at most 3 decimals). */
  price: bigint;
  /** InvoiceDate as UTC milliseconds. */
  utcMs: number;
  country: string;
}

/** A decimal string as a bigint in units of 10^-scale (refuses more digits than scale). */
export function scaled(text: string, scale: number): bigint {
  const match = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!match || (match[2] === '' && !match[3])) throw new Error(`not a decimal: "${text}"`);
  const fraction = match[3] ?? '';
  if (fraction.replace(/0+$/, '').length > scale) throw new Error(`"${text}" has more than ${scale} decimals`);
  const value = BigInt((match[2] || '0') + fraction.padEnd(scale, '0').slice(0, scale));
  return match[1] ? -value : value;
}

// British Summer Time in the file's span: UTC+1 from 2011-03-27 01:00 UTC to 2011-10-30 01:00 UTC
// (the file starts 2010-12-01, after BST 2010 ended).
const BST_START = Date.UTC(2011, 2, 27, 1);
const BST_END = Date.UTC(2011, 9, 30, 1);

/** "YYYY-MM-DD HH:MM:SS" in UK local time → UTC milliseconds. */
export function ukLocalToUtc(text: string): number {
  const asUtc = Date.parse(`${text.replace(' ', 'T')}Z`);
  const shifted = asUtc - 3_600_000;
  return shifted >= BST_START && shifted < BST_END ? shifted : asUtc;
}

/** Every line of the file (or the first `limit`), in file order. */
export async function readRetailLines(limit = Infinity): Promise<RetailLine[]> {
  const lines: RetailLine[] = [];
  await new Promise<void>((resolve, reject) => {
    Papa.parse<Record<string, string>>(createReadStream(ONLINE_RETAIL_FILE).pipe(createGunzip()), {
      header: true,
      skipEmptyLines: true,
      step: ({ data: row }, handle) => {
        if (lines.length >= limit) return handle.abort();
        lines.push({
          invoice: row.InvoiceNo!,
          customer: row.CustomerID!.trim(),
          quantity: scaled(row.Quantity!, 0),
          price: scaled(row.UnitPrice!, 3),
          utcMs: ukLocalToUtc(row.InvoiceDate!),
          country: row.Country!,
        });
      },
      complete: () => resolve(),
      error: reject,
    });
  });
  return lines;
}

/** Month of a UTC time as "YYYY-MM". */
export const utcMonth = (ms: number) => new Date(ms).toISOString().slice(0, 7);
/** Whole calendar months from month a to month b ("YYYY-MM"). */
export const monthsBetween = (a: string, b: string) => (Number(b.slice(0, 4)) - Number(a.slice(0, 4))) * 12 + Number(b.slice(5, 7)) - Number(a.slice(5, 7));

/** The file's header and first `lines` lines as a plain CSV in a temporary directory (a small, real data set). */
export function writeRetailSlice(lines: number): string {
  const text = gunzipSync(readFileSync(ONLINE_RETAIL_FILE)).toString('utf8').split('\n').slice(0, lines + 1).join('\n');
  const file = join(mkdtempSync(join(tmpdir(), 'seglayer-retail-')), 'online_retail_slice.csv');
  writeFileSync(file, `${text}\n`);
  return file;
}
