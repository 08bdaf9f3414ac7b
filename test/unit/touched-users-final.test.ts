/**
 * When the runner may make the run's touched users ahead of the first model that asks
 * (src/models/run-touched-users.ts): once every model they are read from that the run
 * selects has built, and only then.
 */
import { expect, it } from 'vitest';
import { touchedUsersFinalAfter, TOUCHED_USERS_READ } from '../../src/models/run-touched-users.ts';

const all = ['staging.stg_events', 'staging.stg_identity_links', 'core.user_identity_map', 'core.fct_events', 'core.dim_users'];

it('after the last of the models the touched users are read from', () => {
  const built = new Set(TOUCHED_USERS_READ);
  expect(touchedUsersFinalAfter('core.user_identity_map', all, (m) => built.has(m))).toBe(true);
});

it('not before all of them built, nor after one that failed, nor after another model', () => {
  expect(touchedUsersFinalAfter('staging.stg_events', all, (m) => m === 'staging.stg_events')).toBe(false);
  expect(touchedUsersFinalAfter('core.user_identity_map', all, (m) => m !== 'staging.stg_identity_links')).toBe(false);
  expect(touchedUsersFinalAfter('core.fct_events', all, () => true)).toBe(false);
});

it('a model the run does not select is as it was published', () => {
  const selected = ['core.user_identity_map', 'core.dim_users'];
  expect(touchedUsersFinalAfter('core.user_identity_map', selected, (m) => m === 'core.user_identity_map')).toBe(true);
});
