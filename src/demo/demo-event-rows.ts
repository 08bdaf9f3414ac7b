/**
 * Turns one user's events into rows of events.csv.gz, planting the noise real
 * pipelines deliver, counted exactly in truth.json:
 *  - planted truth 2, for staging to recover by de-duplicating on message_id:
 *    exact re-sends (only received_at later) and rarer re-sends of the same
 *    message_id with a conflicting payload;
 *  - planted truth 3, for the loader to quarantine: malformed rows of five
 *    kinds (bad timestamp, invalid JSON, wrong column count, missing event
 *    name, invalid UTF-8 bytes).
 *
 * Noise is drawn from its own PRNG stream and never changes the clean events,
 * so `--malformed-rate 0` gives the same valid data minus the bad rows. Noise
 * rows are *extra* rows, written a few rows after the event they copy (a
 * re-send arrives later); a malformed row is a garbled re-send, so removing it
 * loses no event and it counts in no other truth figure.
 */
import type { DemoTruth, MalformedKind } from './demo-truth.ts';
import { MALFORMED_KINDS } from './demo-truth.ts';
import { csvField } from './demo-files.ts';
import type { DemoEvent, DemoUser } from './demo-user.ts';
import { hex8, mix32, type SeededRandom } from './seeded-random.ts';
import { isoMs } from './demo-time.ts';

/** The raw.events contract columns, in file order (no context column). */
export const EVENT_COLUMNS = [
  'message_id', 'anonymous_id', 'user_id', 'event', 'occurred_at', 'received_at', 'properties', 'device_type', 'os', 'browser',
  'country', 'region', 'city', 'locale', 'utm_source', 'utm_medium', 'utm_campaign',
] as const;
const EVENT = 3;
const OCCURRED_AT = 4;
const RECEIVED_AT = 5;
const PROPERTIES = 6;
const CITY = 12;

export interface NoiseRates {
  /** Share of events written again as malformed rows. */
  malformed: number;
  /** Share of events re-sent identically (later received_at). */
  duplicate: number;
  /** Share of (conflictable) events re-sent with a different payload. */
  conflicting: number;
}

/** Where rows go: text lines, or raw bytes for a line that must hold invalid UTF-8. */
export interface RowSink {
  line(text: string): void;
  bytes(line: Buffer): void;
}

/** Event-file counters of the truth file, filled as rows are written. */
export type EventTally = DemoTruth['events'];

export function emptyEventTally(): EventTally {
  return {
    rowsWritten: 0, validRows: 0, uniqueEvents: 0, exactDuplicates: 0, conflictingDuplicates: 0,
    malformed: { total: 0, byKind: Object.fromEntries(MALFORMED_KINDS.map((k) => [k, 0])) as Record<MalformedKind, number> },
    byName: {}, withUserIdOnly: 0, withAnonymousIdOnly: 0, withBothIds: 0,
  };
}

// A conflicting re-send renames the event or changes its properties; none of
// these names is one a planted truth reads.
const CONFLICT_NAMES: Record<string, string> = {
  page_viewed: 'screen_viewed',
  app_opened: 'app_launched',
  report_exported: 'report_downloaded',
  invite_sent: 'invite_created',
  upgrade_clicked: 'pricing_viewed',
};
const BAD_TIMESTAMPS = ['2025-13-45T99:00:00Z', 'yesterday', '2025-02-30T10:00:00Z', '31/12/2025 10:00'];

const joinFields = (fields: readonly string[], from = 0, to = fields.length) => {
  let text = csvField(fields[from]!);
  for (let i = from + 1; i < to; i++) text += `,${csvField(fields[i]!)}`;
  return text;
};

/** Writes the user's events (sorted) with noise; updates the tally. */
export function writeUserEvents(user: DemoUser, world: { messageSalt: number }, noise: SeededRandom, rates: NoiseRates, sink: RowSink, tally: EventTally): void {
  const events = user.events;
  const messagePrefix = `m-${hex8(mix32(user.index ^ world.messageSalt))}-`;
  // extras[i]: rows to write right after row i.
  const extras: (string | Buffer)[][] = [];
  const later = (i: number, row: string | Buffer) => {
    const at = Math.min(events.length - 1, i + noise.geometric(8));
    (extras[at] ??= []).push(row);
  };

  // The device, place, locale and campaign columns are the same for many rows
  // of a user: quote them once per (device, campaign) instead of per row.
  const tails = new Map<number, string>();
  const tailOf = (event: DemoEvent) => {
    const key = event.device * 2 + (event.utm ? 1 : 0);
    let tail = tails.get(key);
    if (tail === undefined) {
      tail = `,${joinFields(eventFields(user, event, ''), PROPERTIES + 1)}\n`;
      tails.set(key, tail);
    }
    return tail;
  };
  const anonymousIds = user.anonymousIds.map(csvField);
  const userId = csvField(user.userId);

  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const messageId = `${messagePrefix}${i.toString(16).padStart(4, '0')}`;
    // Hot path (about 5M rows per 100k users): ids, names and ISO timestamps are
    // quoted only if they need it; properties JSON always holds quotes.
    sink.line(
      `${csvField(messageId)},${event.ids === 'user' ? '' : anonymousIds[event.device]},${event.ids === 'anonymous' ? '' : userId},` +
        `${csvField(event.name)},${isoMs(event.t)},${isoMs(event.received)},"${event.props.replace(QUOTE, '""')}"${tailOf(event)}`,
    );
    count(tally, event);

    const u = noise.next();
    const noisy = u < rates.conflicting + rates.duplicate;
    const garbled = noise.next() < rates.malformed;
    if (!noisy && !garbled) {
      const rows = extras[i];
      if (rows) flush(rows, sink);
      continue;
    }
    const fields = eventFields(user, event, messageId);
    if (noisy && event.conflictable && u < rates.conflicting) {
      const changed = [...fields];
      changed[RECEIVED_AT] = isoMs(event.received + resendDelay(noise));
      const renamed = CONFLICT_NAMES[event.name];
      if (renamed && noise.chance(0.5)) changed[EVENT] = renamed;
      else changed[PROPERTIES] = `${event.props.slice(0, -1)}${event.props === '{}' ? '' : ','}"sdk_retry":true}`;
      later(i, `${joinFields(changed)}\n`);
      tally.conflictingDuplicates++;
    } else if (noisy) {
      const copy = [...fields];
      copy[RECEIVED_AT] = isoMs(event.received + resendDelay(noise));
      later(i, `${joinFields(copy)}\n`);
      tally.exactDuplicates++;
    }
    if (garbled) {
      const kind = noise.pick(MALFORMED_KINDS);
      later(i, malformedRow(fields, kind, noise));
      tally.malformed.byKind[kind]++;
      tally.malformed.total++;
    }
    const rows = extras[i];
    if (rows) flush(rows, sink);
  }
}

const QUOTE = /"/g;

function flush(rows: (string | Buffer)[], sink: RowSink): void {
  for (const row of rows) {
    if (typeof row === 'string') sink.line(row);
    else sink.bytes(row);
  }
}

function resendDelay(noise: SeededRandom): number {
  return 1000 + Math.floor(noise.exponential(30 * 60_000));
}

function eventFields(user: DemoUser, event: DemoEvent, messageId: string): string[] {
  const device = user.devices[event.device]!;
  const utm = event.utm ? user.utm : undefined;
  return [
    messageId,
    event.ids === 'user' ? '' : user.anonymousIds[event.device]!,
    event.ids === 'anonymous' ? '' : user.userId,
    event.name,
    isoMs(event.t),
    isoMs(event.received),
    event.props,
    device.type,
    device.os,
    device.browser,
    user.country.code,
    user.city.region,
    user.city.city,
    user.country.locale,
    utm?.source ?? '',
    utm?.medium ?? '',
    utm?.campaign ?? '',
  ];
}

function count(tally: EventTally, event: DemoEvent): void {
  tally.uniqueEvents++;
  tally.byName[event.name] = (tally.byName[event.name] ?? 0) + 1;
  if (event.ids === 'user') tally.withUserIdOnly++;
  else if (event.ids === 'anonymous') tally.withAnonymousIdOnly++;
  else tally.withBothIds++;
}

/** A garbled copy of an event row with exactly one defect of the given kind. */
function malformedRow(fields: readonly string[], kind: MalformedKind, noise: SeededRandom): string | Buffer {
  const bad = [...fields];
  switch (kind) {
    case 'bad_timestamp':
      bad[OCCURRED_AT] = noise.pick(BAD_TIMESTAMPS);
      break;
    case 'invalid_json':
      bad[PROPERTIES] = bad[PROPERTIES]!.slice(0, -1); // truncated: the closing brace is lost
      break;
    case 'wrong_column_count':
      if (noise.chance(0.5)) bad.pop();
      else bad.push('unexpected');
      break;
    case 'missing_event_name':
      bad[EVENT] = '';
      break;
    case 'invalid_utf8': {
      // 0xC3 starts a two-byte sequence but 0x28 ('(') cannot continue it.
      const city = bad[CITY]!;
      return Buffer.concat([
        Buffer.from(`${joinFields(bad, 0, CITY)},${city.slice(0, 1)}`, 'utf8'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from(`${city.slice(1)},${joinFields(bad, CITY + 1)}\n`, 'utf8'),
      ]);
    }
  }
  return `${joinFields(bad)}\n`;
}
