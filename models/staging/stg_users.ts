import { defineModel } from '../../src/models/model-definition.ts';

/*
 * Two identify calls with one updated_at are decided by their content, never by
 * which batch came last, so every load order builds the same row. Columns are
 * compared natively: a timestamp or jsonb cast to text (for an md5) would depend
 * on the session's TimeZone and DateStyle.
 */
const CONTENT = 'user_id, signed_up_at, birth_year, gender, plan, country, region, city, acquisition_channel, email, traits';

export default defineModel({
  name: 'staging.stg_users',
  description: 'One row per user_id with the latest observed traits; signup time is the earliest one ever reported.',
  owner: 'data-platform',
  tags: ['users'],
  columns: {
    user_id: { type: 'text', description: 'Application user id', tests: ['not_null', 'unique'] },
    signed_up_at: { type: 'timestamptz', description: 'Earliest signup time reported for the user' },
    birth_year: { type: 'integer', description: 'Birth year', tests: [{ expression: 'birth_year is null or birth_year between 1900 and 2025' }] },
    gender: { type: 'text', description: 'Gender, as reported' },
    plan: { type: 'text', description: 'Plan at the latest identify' },
    country: { type: 'text', description: 'Country' },
    region: { type: 'text', description: 'Region / state' },
    city: { type: 'text', description: 'City' },
    acquisition_channel: { type: 'text', description: 'Channel the user came from' },
    email: { type: 'text', description: 'Email (PII)', pii: true },
    traits: { type: 'jsonb', description: 'All traits of the latest identify' },
    updated_at: { type: 'timestamptz', description: 'When the latest traits were observed' },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with cleaned as (
        select trim(user_id) as user_id, signed_up_at, birth_year, nullif(trim(gender), '') as gender,
               nullif(trim(plan), '') as plan, nullif(trim(country), '') as country, nullif(trim(region), '') as region,
               nullif(trim(city), '') as city, nullif(trim(acquisition_channel), '') as acquisition_channel,
               nullif(lower(trim(email)), '') as email, traits, updated_at,
               row_number() over (partition by trim(user_id) order by updated_at desc nulls last, ${CONTENT}) as recency_rank,
               min(signed_up_at) over (partition by trim(user_id)) as first_signed_up_at
        from ${ref('raw.users')}
        where nullif(trim(user_id), '') is not null
      ),
      final as (
        select user_id, first_signed_up_at as signed_up_at, birth_year, gender, plan, country, region, city,
               acquisition_channel, email, traits, updated_at
        from cleaned
        where recency_rank = 1
      )
      select * from final`),
});
