/**
 * What a funnel step's condition may read: the event's own columns in
 * core.fct_events plus the properties the funnel declares (read from the
 * `properties` JSON and cast to the declared type).
 */
import type { FeatureCatalog, FeatureType } from '../segments/rule-compiler.ts';

/** Columns of core.fct_events a condition may use. */
export const EVENT_COLUMNS: ReadonlyMap<string, FeatureType> = new Map([
  ['device_type', 'text'],
  ['os', 'text'],
  ['browser', 'text'],
  ['country', 'text'],
]);

const PROPERTY_FEATURE_TYPE = { text: 'text', number: 'number', boolean: 'boolean' } as const;

export function eventCatalog(properties: Record<string, keyof typeof PROPERTY_FEATURE_TYPE>): FeatureCatalog {
  return new Map([...EVENT_COLUMNS, ...Object.entries(properties).map(([name, type]) => [name, PROPERTY_FEATURE_TYPE[type]] as const)]);
}
