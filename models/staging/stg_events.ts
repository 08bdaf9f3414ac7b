import { batchArray } from '../../src/identity/touched-identities.ts';
import { DISPLACED_COPY_COLUMNS } from '../../src/identity/displaced-copies.ts';
import { defineModel, quarantineSource } from '../../src/models/model-definition.ts';

/** Fields that make two rows with one message_id "the same event". */
const PAYLOAD = `md5(concat_ws('|', event, occurred_at::text, user_id, anonymous_id, properties::text))`;
/*
 * Copies received at the same time (or with no receipt time) are decided by
 * their content, compared column by column, never by the batch that brought
 * them: every load order keeps the same copy. Batch and row only order copies
 * whose content is identical, where they change nothing but the lineage columns.
 */
const CONTENT = `event, occurred_at, user_id, anonymous_id, properties, device_type, os, browser, country, region, city, locale, utm_source, utm_medium, utm_campaign, context`;
const FIRST_RECEIVED = `partition by message_id order by received_at nulls last, ${CONTENT}, load_batch_id, source_row_number`;

/*
 * The one staging model stored as a table, and incremental: every core model
 * reads the de-duplicated events, and as a view each read re-ran the dedup over
 * all raw events (the benchmark showed it several times per build). Incremental
 * by message_id: only new copies can change which copy of a message id is kept,
 * so a build re-ranks every copy of the message ids its new batches bring, and
 * nothing else (a window re-derived 3 days of unchanged events for it). A stored
 * copy displaced by a later-loaded one is replaced by key, however old; a revert
 * sends the model back to a full build.
 */
export default defineModel({
  name: 'staging.stg_events',
  description:
    'Raw events trimmed and de-duplicated by message_id: the first received copy wins (same receipt time: decided by content, not load order). A copy with a different payload is flagged in ops.quarantine once per distinct payload, not silently dropped.',
  owner: 'data-platform',
  tags: ['events'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'message_id' },
  // What a build replaced and added, for the models that must know which kept copies a new batch displaced
  // (staging.stg_identity_links, core.fct_events, marts.user_days; src/identity/displaced-copies.ts): without them
  // each looked up every new copy's message id.
  keepChanges: { columns: DISPLACED_COPY_COLUMNS },
  // The key delete, core.fct_events reading its window, and core models reading only the rows of new batches.
  indexes: [['occurred_at'], ['message_id'], ['load_batch_id']],
  columns: {
    message_id: { type: 'text', description: 'Producer-assigned event id', tests: ['not_null', 'unique'] },
    anonymous_id: { type: 'text', description: 'Device / cookie id, when sent' },
    user_id: { type: 'text', description: 'Application user id, when sent' },
    event: { type: 'text', description: 'Event name', tests: ['not_null'] },
    occurred_at: { type: 'timestamptz', description: 'When the event happened (producer clock)', tests: ['not_null'] },
    received_at: { type: 'timestamptz', description: 'When the collector received it' },
    properties: { type: 'jsonb', description: 'Event properties' },
    device_type: { type: 'text', description: 'mobile, desktop, tablet, ...' },
    os: { type: 'text', description: 'Operating system' },
    browser: { type: 'text', description: 'Browser' },
    country: { type: 'text', description: 'Country (ISO code or name, as sent)' },
    region: { type: 'text', description: 'Region / state' },
    city: { type: 'text', description: 'City' },
    locale: { type: 'text', description: 'Locale such as en-GB' },
    utm_source: { type: 'text', description: 'Campaign source' },
    utm_medium: { type: 'text', description: 'Campaign medium' },
    utm_campaign: { type: 'text', description: 'Campaign name' },
    load_batch_id: { type: 'bigint', description: 'Batch that loaded the kept copy', tests: ['not_null'] },
    source_row_number: { type: 'bigint', description: 'Row of the kept copy in its source file', tests: ['not_null'] },
  },
  build: (knex, { ref, incremental }) =>
    knex.raw(
      `
      with ranked as (
        select *, row_number() over (${FIRST_RECEIVED}) as copy_number
        from ${ref('raw.events')} r
        ${incremental ? `where r.message_id in (select n.message_id from ${ref('raw.events')} n where n.load_batch_id = any(${batchArray(knex, incremental.newBatches)}))` : ''}
      ),
      final as (
        select trim(message_id) as message_id,
               nullif(trim(anonymous_id), '') as anonymous_id,
               nullif(trim(user_id), '') as user_id,
               trim(event) as event,
               occurred_at, received_at, properties,
               lower(nullif(trim(device_type), '')) as device_type,
               nullif(trim(os), '') as os,
               nullif(trim(browser), '') as browser,
               nullif(trim(country), '') as country,
               nullif(trim(region), '') as region,
               nullif(trim(city), '') as city,
               nullif(trim(locale), '') as locale,
               nullif(trim(utm_source), '') as utm_source,
               nullif(trim(utm_medium), '') as utm_medium,
               nullif(trim(utm_campaign), '') as utm_campaign,
               load_batch_id, source_row_number
        from ranked
        where copy_number = 1
      )
      select * from final`),
  // New batches can change the verdict on every copy of the message ids they bring, and only those: this model's
  // quarantine rows of those message ids (named in their payload), one probe each (878 rows on the build bench), rather
  // than every copy of every new message id (11.5k probes of raw.events, on the daily build's longest chain).
  quarantineReplaces: (knex, { ref, incremental }) =>
    knex.raw(`
      select q.batch_id, q.row_number from ops.quarantine q
      where q.source = ? and exists (
        select 1 from ${ref('raw.events')} n
        where n.message_id = (q.raw_payload::jsonb ->> 'message_id') and n.load_batch_id = any(${batchArray(knex, incremental!.newBatches)}))`,
      [quarantineSource('staging.stg_events')]),
  quarantine: (knex, { ref, incremental }) =>
    knex.raw(`
      with repeated as (   -- a message id with one copy has nothing to conflict with: only the others are hashed
        select * from (
          select *, count(*) over (partition by message_id) as copies
          from ${ref('raw.events')}
          ${incremental ? `where message_id in (select n.message_id from ${ref('raw.events')} n where n.load_batch_id = any(${batchArray(knex, incremental.newBatches)}))` : ''}
        ) r
        where copies > 1
      ),
      copies as (
        select load_batch_id, source_row_number, message_id, event, occurred_at, user_id, anonymous_id, properties,
               ${PAYLOAD} as payload_hash,
               first_value(${PAYLOAD}) over (${FIRST_RECEIVED}) as first_hash,
               row_number() over (${FIRST_RECEIVED}) as copy_number
        from repeated
      ),
      conflicts as (   -- a file loaded again repeats its conflicting copies: flag each distinct payload once
        select *, row_number() over (partition by message_id, payload_hash order by load_batch_id, source_row_number) as repeat_number
        from copies
        where copy_number > 1 and payload_hash <> first_hash
      )
      select load_batch_id as batch_id, source_row_number as row_number,
             json_build_object('message_id', message_id, 'event', event, 'occurred_at', occurred_at,
                               'user_id', user_id, 'anonymous_id', anonymous_id, 'properties', properties)::text as raw_payload,
             'message_id repeats an earlier event with a different payload; the first received copy was kept' as reason,
             'message_id' as field
      from conflicts
      where repeat_number = 1`),
});
