import { defineModel } from '../../src/models/model-definition.ts';

/*
 * Reference rates to report revenue in one currency (USD). Static on purpose:
 * demo and test figures must not move with the market. Replace with a loaded
 * rates table when real multi-currency revenue matters.
 */
const RATES: [string, number][] = [
  ['USD', 1],
  ['EUR', 1.08],
  ['GBP', 1.27],
  ['CAD', 0.74],
  ['AUD', 0.66],
  ['INR', 0.012],
  ['BRL', 0.2],
  ['JPY', 0.0067],
];

export default defineModel({
  name: 'core.fx_rates',
  description: 'Static reference exchange rates to USD used to report revenue and cost in one currency.',
  owner: 'data-platform',
  tags: ['reference'],
  columns: {
    currency: { type: 'text', description: 'ISO currency code', tests: ['not_null', 'unique'] },
    usd_per_unit: { type: 'numeric', description: 'USD for one unit of the currency', tests: ['not_null', { expression: 'usd_per_unit > 0' }] },
  },
  build: (knex) =>
    knex.raw(`select currency, usd_per_unit::numeric from (values ${RATES.map(() => '(?, ?)').join(', ')}) as rates (currency, usd_per_unit)`, RATES.flat()),
});
