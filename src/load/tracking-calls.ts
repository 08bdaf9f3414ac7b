/**
 * Tracking calls: the `tracking-calls` load format. Routes the calls of a
 * Segment or RudderStack export (NDJSON, one call per line) to the raw tables
 * with no mapping at all:
 *
 *   track            -> raw.events
 *   page / screen    -> raw.events (event "page_viewed" / "screen_viewed", name in properties)
 *   identify         -> raw.users, plus raw.identities when it carries an anonymousId
 *   alias            -> raw.identities (previousId -> userId)
 *
 * Both vendors use the same spec (messageId, anonymousId, userId, timestamp,
 * properties, context, traits); RudderStack also sends context.traits and
 * `originalTimestamp`, which are used as fallbacks.
 */
import { compileRowBuilder, type Getter, type TableRowBuilder } from './row-builder.ts';
import { RowRejection, type SourceRecord } from './source-record.ts';
import { contractFor } from './table-contracts.ts';

type Call = Record<string, unknown>;

const obj = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** Read a dotted path from the call. */
const at = (path: string): Getter => {
  const keys = path.split('.');
  return (record) => {
    let value: unknown = record.object;
    for (const key of keys) value = obj(value)?.[key];
    return value;
  };
};
const first = (...getters: Getter[]): Getter => (record) => {
  for (const get of getters) {
    const value = get(record);
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
};
const constant = (value: string): Getter => () => value;
const traits: Getter = first(at('traits'), at('context.traits'));
const trait = (...names: string[]): Getter => first(...names.flatMap((name) => [at(`traits.${name}`), at(`context.traits.${name}`)]));

const eventColumns = (event: Getter, properties: Getter): [string, Getter][] => [
  ['message_id', first(at('messageId'), at('message_id'))],
  ['anonymous_id', at('anonymousId')],
  ['user_id', at('userId')],
  ['event', event],
  ['occurred_at', first(at('timestamp'), at('originalTimestamp'), at('sentAt'))],
  ['received_at', at('receivedAt')],
  ['properties', properties],
  ['device_type', at('context.device.type')],
  ['os', at('context.os.name')],
  ['browser', at('context.browser.name')],
  ['country', first(at('context.location.country'), at('context.country'))],
  ['region', at('context.location.region')],
  ['city', at('context.location.city')],
  ['locale', at('context.locale')],
  ['utm_source', at('context.campaign.source')],
  ['utm_medium', at('context.campaign.medium')],
  ['utm_campaign', at('context.campaign.name')],
  ['context', at('context')],
];

const withName: Getter = (record) => {
  const properties = obj(record.object!.properties) ?? {};
  const name = record.object!.name;
  return name === undefined ? properties : { name, ...properties };
};

function builder(table: string, columns: [string, Getter][]): TableRowBuilder {
  return compileRowBuilder(contractFor(table), new Map(columns));
}

/** Sends each tracking call to the raw table(s) it fills. */
export class TrackingCallRouter {
  private readonly track = builder('raw.events', eventColumns(at('event'), at('properties')));
  private readonly page = builder('raw.events', eventColumns(constant('page_viewed'), withName));
  private readonly screen = builder('raw.events', eventColumns(constant('screen_viewed'), withName));
  private readonly identifyUser = builder('raw.users', [
    ['user_id', at('userId')],
    ['signed_up_at', trait('createdAt', 'created_at', 'signedUpAt', 'signed_up_at')],
    ['birth_year', trait('birthYear', 'birth_year')],
    ['gender', trait('gender')],
    ['plan', trait('plan')],
    ['country', first(trait('address.country', 'country'), at('context.location.country'))],
    ['region', first(trait('address.state', 'region'), at('context.location.region'))],
    ['city', first(trait('address.city', 'city'), at('context.location.city'))],
    ['acquisition_channel', first(trait('acquisitionChannel', 'acquisition_channel'), at('context.campaign.source'))],
    ['email', trait('email')],
    ['traits', traits],
    ['updated_at', first(at('timestamp'), at('originalTimestamp'))],
  ]);
  private readonly identifyLink = builder('raw.identities', [
    ['anonymous_id', at('anonymousId')],
    ['user_id', at('userId')],
    ['linked_at', first(at('timestamp'), at('originalTimestamp'))],
    ['link_source', constant('identify')],
  ]);
  private readonly alias = builder('raw.identities', [
    ['anonymous_id', first(at('previousId'), at('anonymousId'))],
    ['user_id', at('userId')],
    ['linked_at', first(at('timestamp'), at('originalTimestamp'))],
    ['link_source', constant('alias')],
  ]);

  /** Tables this router can write, for opening their writers up front. */
  readonly tables = ['raw.events', 'raw.users', 'raw.identities'];

  /** The rows one call becomes; throws RowRejection for calls that cannot load. */
  route(record: SourceRecord): { builder: TableRowBuilder; values: (string | null)[] }[] {
    const call = record.object as Call;
    const type = typeof call.type === 'string' ? call.type.toLowerCase() : undefined;
    const one = (b: TableRowBuilder) => [{ builder: b, values: b.build(record) }];
    switch (type) {
      case 'track':
        return one(this.track);
      case 'page':
        return one(this.page);
      case 'screen':
        return one(this.screen);
      case 'alias':
        return one(this.alias);
      case 'identify': {
        if (call.userId === undefined || call.userId === null || call.userId === '') {
          throw new RowRejection('identify without userId: nothing to attach the traits to', 'userId');
        }
        const rows = one(this.identifyUser);
        if (call.anonymousId) rows.push({ builder: this.identifyLink, values: this.identifyLink.build(record) });
        return rows;
      }
      case undefined:
        throw new RowRejection('no call type: expected a Segment/RudderStack call with "type"', 'type');
      default:
        throw new RowRejection(`unsupported call type "${type}" (loaded: track, page, screen, identify, alias)`, 'type');
    }
  }
}
