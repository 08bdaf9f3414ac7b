/**
 * The load contract of each raw landing table: which columns a source may fill,
 * their types, and which are required. It mirrors the raw migration (a test
 * checks the two never drift) and drives row validation in the loader.
 */
import { UserError } from '../errors/user-error.js';

export type ColumnType = 'text' | 'timestamptz' | 'date' | 'integer' | 'numeric' | 'jsonb';

export interface ColumnContract {
  name: string;
  type: ColumnType;
  /** A row without a value here is quarantined. */
  required?: boolean;
  /** jsonb columns that must hold an object (not an array or scalar). */
  object?: boolean;
}

export interface TableContract {
  /** Schema-qualified table name. */
  table: string;
  columns: ColumnContract[];
  /**
   * jsonb column that receives source columns with no place of their own, so a
   * file with extra columns loads without losing them.
   */
  extrasColumn?: string;
}

/** Columns every raw table has, filled by the loader itself. */
export const LINEAGE_COLUMNS = ['load_batch_id', 'source_row_number'] as const;

const text = (name: string, required = false): ColumnContract => ({ name, type: 'text', required });
const ts = (name: string, required = false): ColumnContract => ({ name, type: 'timestamptz', required });
const num = (name: string, required = false): ColumnContract => ({ name, type: 'numeric', required });
const obj = (name: string): ColumnContract => ({ name, type: 'jsonb', object: true });

export const TABLE_CONTRACTS: Record<string, TableContract> = Object.fromEntries(
  (
    [
      {
        table: 'raw.events',
        extrasColumn: 'properties',
        columns: [
          text('message_id', true),
          text('anonymous_id'),
          text('user_id'),
          text('event', true),
          ts('occurred_at', true),
          ts('received_at'),
          obj('properties'),
          ...['device_type', 'os', 'browser', 'country', 'region', 'city', 'locale'].map((c) => text(c)),
          ...['utm_source', 'utm_medium', 'utm_campaign'].map((c) => text(c)),
          obj('context'),
        ],
      },
      {
        table: 'raw.users',
        extrasColumn: 'traits',
        columns: [
          text('user_id', true),
          ts('signed_up_at'),
          { name: 'birth_year', type: 'integer' },
          ...['gender', 'plan', 'country', 'region', 'city', 'acquisition_channel', 'email'].map((c) => text(c)),
          obj('traits'),
          ts('updated_at'),
        ],
      },
      {
        table: 'raw.identities',
        columns: [text('anonymous_id', true), text('user_id', true), ts('linked_at'), text('link_source')],
      },
      {
        table: 'raw.outcomes',
        extrasColumn: 'properties',
        columns: [
          text('outcome_id'),
          text('user_id'),
          text('outcome_type'),
          ts('occurred_at', true),
          num('amount'),
          text('currency'),
          text('order_id'),
          text('product_id'),
          num('quantity'),
          num('unit_price'),
          text('plan'),
          obj('properties'),
        ],
      },
      {
        table: 'raw.costs',
        columns: [
          text('user_id'),
          text('account_id'),
          { name: 'period_start', type: 'date', required: true },
          { name: 'period_end', type: 'date', required: true },
          text('cost_type'),
          num('amount', true),
          text('currency', true),
        ],
      },
      {
        table: 'raw.survey_responses',
        columns: [text('response_id'), text('user_id', true), text('survey', true), text('question', true), text('answer'), ts('responded_at', true)],
      },
      {
        table: 'raw.experiment_assignments',
        columns: [text('experiment', true), text('variant', true), text('user_id'), text('anonymous_id'), ts('assigned_at', true)],
      },
    ] satisfies TableContract[]
  ).map((contract) => [contract.table, contract]),
);

export class UnknownTableError extends UserError {}

/** Look up a contract by `raw.events` or plain `events`. */
export function contractFor(table: string): TableContract {
  const qualified = table.includes('.') ? table : `raw.${table}`;
  const contract = TABLE_CONTRACTS[qualified];
  if (!contract) {
    throw new UnknownTableError(
      `unknown table "${table}": seglayer loads into ${Object.keys(TABLE_CONTRACTS).join(', ')}`,
    );
  }
  return contract;
}
