import { defineModel } from '../../src/models/model-definition.ts';
import { readSeed, seedPath } from '../../src/seeds/seed-file.ts';

/*
 * Reference rates to report revenue in one currency (USD), from the seed
 * seeds/fx_rates.csv (the demo generator reads the same file). Static on
 * purpose: demo and test figures must not move with the market. Replace with a
 * loaded rates table when real multi-currency revenue matters.
 */
export default defineModel({
  name: 'core.fx_rates',
  description: 'Static reference exchange rates to USD used to report revenue and cost in one currency.',
  owner: 'data-platform',
  tags: ['reference'],
  // A changed rate re-prices every user's money: incremental models downstream are built in full.
  reference: true,
  // A changed rate re-derives every line of core.fct_costs (deltaFrom).
  keepChanges: {},
  columns: {
    currency: { type: 'text', description: 'ISO currency code', tests: ['not_null', 'unique'] },
    usd_per_unit: { type: 'numeric', description: 'USD for one unit of the currency', tests: ['not_null', { expression: 'usd_per_unit > 0' }] },
  },
  build: (knex) => {
    const rates = readSeed(seedPath('fx_rates'), { currency: 'text', usd_per_unit: 'number' });
    return knex.raw(
      `select currency, usd_per_unit::numeric from (values ${rates.map(() => '(?, ?)').join(', ')}) as rates (currency, usd_per_unit)`,
      rates.flatMap((rate) => [rate.currency, rate.usd_per_unit]),
    );
  },
});
