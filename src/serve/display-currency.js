// @ts-check
/**
 * The display currency of money members: SEGLAYER_DISPLAY_CURRENCY, at its reference rate
 * from seeds/fx_rates.csv (the rates core.fx_rates converts revenue to USD with). Cube model
 * files may write __DISPLAY_CURRENCY__ and __USD_PER_DISPLAY_UNIT__; Cube reads the files
 * through displayCurrencyRepository, which puts in the configured currency and its rate,
 * so a member's title and description name the currency and the rate it was converted at.
 * Plain JavaScript: cube.js loads it under the official Cube 1.x image too.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The USD rate of `currency` from the rates seed.
 * @param {string} seedFile
 * @param {string} currency
 * @returns {{ currency: string, usdPerUnit: string }}
 */
export function displayCurrency(seedFile, currency) {
  const [header, ...lines] = readFileSync(seedFile, 'utf8').trim().split(/\r?\n/);
  const columns = (header ?? '').split(',');
  const rates = new Map(lines.map((line) => {
    const cells = line.split(',');
    return [cells[columns.indexOf('currency')], cells[columns.indexOf('usd_per_unit')]];
  }));
  const usdPerUnit = rates.get(currency);
  if (!usdPerUnit || !/^\d+(\.\d+)?$/.test(usdPerUnit)) {
    throw new Error(`SEGLAYER_DISPLAY_CURRENCY=${currency}: ${seedFile} has no rate for it (it has ${[...rates.keys()].join(', ')})`);
  }
  return { currency, usdPerUnit };
}

/**
 * Cube's model files under `schemaDir` (the repository interface of Cube's FileRepository),
 * with the display currency's tokens replaced.
 * @param {string} schemaDir absolute path
 * @param {{ currency: string, usdPerUnit: string }} display
 */
export function displayCurrencyRepository(schemaDir, display) {
  /** @param {string} dir @returns {string[]} */
  const walk = (dir) =>
    readdirSync(path.join(schemaDir, dir)).flatMap((name) => {
      const relative = path.join(dir, name);
      return statSync(path.join(schemaDir, relative)).isDirectory() ? walk(relative) : [relative];
    });
  return {
    localPath: () => schemaDir,
    dataSchemaFiles: async () =>
      walk('')
        .filter((file) => /\.(js|ya?ml)$/.test(file))
        .map((file) => ({
          fileName: file,
          content: readFileSync(path.join(schemaDir, file), 'utf8')
            .replaceAll('__DISPLAY_CURRENCY__', display.currency)
            .replaceAll('__USD_PER_DISPLAY_UNIT__', display.usdPerUnit),
        })),
  };
}
