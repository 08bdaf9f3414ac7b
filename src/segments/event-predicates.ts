/**
 * Event predicates of the rule language → set-based SQL. Each call becomes one
 * aggregate column computed in a single grouped scan (per user) of core.fct_events
 * (`ev`) or core.fct_outcomes (`oc`), or, for sequence(), one windowed scan (`sN`);
 * the rule then compares that column. Every value — event names, property names,
 * counts, durations — is a binding; only the allowlisted outcome columns and units
 * are written into the SQL.
 *
 * Time: every window is relative to the reference row `r` (features.user_features:
 * as_of_at, the build's reference time, and signed_up_at), never now(); events at
 * or after as_of_at are not seen. Intervals are half-open [from, to) and counted in
 * hours, so a "day" is 24 hours whatever the session's time zone (no DST shifts).
 */
import { RuleSyntaxError, type EventCall, type RuleNode, type Span, type Window } from './rule-parser.ts';

export type Binding = string | number | boolean;

export interface AggregateColumn {
  alias: string;
  /** An aggregate over `e` (events) or `o` (outcomes) joined to the reference row `r`. */
  sql: string;
  bindings: Binding[];
  /** The only rows the aggregate reads (its filter), when it has one: the scan may skip every other row. */
  rows?: { sql: string; bindings: Binding[] };
  /**
   * A count of the user's own events that reads neither the reference time nor anything but the events and
   * signed_up_at (no window, or one after signup): kept per user in segments.rule_event_facts, which is
   * rebuilt for the users new batches touch only.
   */
  perUser?: boolean;
}

export interface SequenceScan {
  alias: string;
  /** A query of (user_key, hit) over `e` joined to `r`; {events} and {features} stand for the relations. */
  sql: string;
  bindings: Binding[];
}

/** An event, or a property of an event, a rule names: checked against core.event_catalog. */
export interface EventReference {
  event: string;
  property?: string;
  /** The type the rule reads the property as (text, number, boolean), or any. */
  type?: PropertyType | 'any';
  at: number;
}

export interface EventParts {
  events: AggregateColumn[];
  outcomes: AggregateColumn[];
  sequences: SequenceScan[];
  /** Event names the event scan needs (its pre-filter). */
  eventNames: Set<string>;
  references: EventReference[];
}

export const emptyEventParts = (): EventParts => ({ events: [], outcomes: [], sequences: [], eventNames: new Set(), references: [] });

/** Most event predicates one rule may hold. */
export const MAX_EVENT_PREDICATES = 500;

type PropertyType = 'text' | 'number' | 'boolean';
const HOURS_PER = { hours: 1, days: 24, weeks: 168 } as const;
const hours = (span: Span) => span.amount * HOURS_PER[span.unit];
const OUTCOME_TYPES: Record<string, string> = { purchased: 'purchase', upgraded: 'upgrade', downgraded: 'downgrade', refunded: 'refund', churned: 'churn' };
/** Outcome columns a where: may read (allowlisted: they are written into the SQL). */
export const OUTCOME_COLUMNS: Record<string, PropertyType> = {
  plan: 'text', product_id: 'text', currency: 'text', order_id: 'text', amount: 'number', quantity: 'number', revenue_usd: 'number',
};

/** A time window as SQL over time expression `t`, relative to reference row `r`; bindings pushed in text order. */
export function windowSql(window: Window, t: string, r: string, push: (v: Binding) => string): string {
  switch (window.kind) {
    case 'ever':
      return 'true';
    case 'last':
      return `(${t} >= ${r}as_of_at - ${push(hours(window.span))}::int * interval '1 hour' and ${t} < ${r}as_of_at)`;
    case 'ago':
      return `(${t} >= ${r}as_of_at - ${push(hours(window.far))}::int * interval '1 hour' and ${t} < ${r}as_of_at - ${push(hours(window.near))}::int * interval '1 hour')`;
    case 'after_signup':
      return `(${t} >= ${r}signed_up_at and ${t} < ${r}signed_up_at + ${push(hours(window.span))}::int * interval '1 hour')`;
  }
}

/** [as_of_at - from·span, as_of_at - to·span) over e.occurred_at, periods counted back from the reference time. */
const periodSql = (span: Span, from: number, to: number, push: (v: Binding) => string) =>
  `(e.occurred_at >= r.as_of_at - ${push(from * hours(span))}::int * interval '1 hour' and e.occurred_at < r.as_of_at - ${push(to * hours(span))}::int * interval '1 hour')`;

/**
 * A where: condition on JSON properties (events) or outcome columns. The type a
 * property is read as follows the literal it is compared with; a value of another
 * JSON type reads as null, so it satisfies no comparison (never a cast error).
 */
function conditionSql(node: RuleNode, access: (name: string, type: PropertyType | 'any', at: number) => string, push: (v: Binding) => string): string {
  const literalType = (o: { kind: string; at: number }): PropertyType => {
    if (o.kind === 'string') return 'text';
    if (o.kind === 'number' || o.kind === 'boolean') return o.kind;
    throw new RuleSyntaxError('compare a property with a value (a property with a property is not supported)', o.at);
  };
  const pair = (a: Extract<RuleNode, { kind: 'compare' }>['left'], values: Extract<RuleNode, { kind: 'compare' }>['left'][]) => {
    if (a.kind !== 'feature') throw new RuleSyntaxError('put the property on the left (e.g. plan = \'pro\')', a.at);
    const types = new Set(values.map(literalType));
    if (types.size > 1) throw new RuleSyntaxError(`mixed value types for property "${a.name}"`, a.at);
    return { name: a.name, at: a.at, type: [...types][0]! };
  };
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${node.items.map((item) => conditionSql(item, access, push)).join(` ${node.kind} `)})`;
    case 'not':
      return `(not ${conditionSql(node.item, access, push)})`;
    case 'compare': {
      const p = pair(node.left, [node.right]);
      if (p.type === 'boolean' && !['=', '<>'].includes(node.op)) throw new RuleSyntaxError('booleans compare only with = and <>', node.left.at);
      const left = access(p.name, p.type, p.at);
      return `(${left} ${node.op} ${push((node.right as { value: Binding }).value)})`;
    }
    case 'in': {
      const p = pair(node.operand, node.values);
      const left = access(p.name, p.type, p.at);
      return `(${left} ${node.negated ? 'not in' : 'in'} (${node.values.map((v) => push((v as { value: Binding }).value)).join(', ')}))`;
    }
    case 'between': {
      const p = pair(node.operand, [node.low, node.high]);
      if (p.type === 'boolean') throw new RuleSyntaxError('between needs numbers or text', node.operand.at);
      const left = access(p.name, p.type, p.at);
      return `(${left} ${node.negated ? 'not between' : 'between'} ${push((node.low as { value: Binding }).value)} and ${push((node.high as { value: Binding }).value)})`;
    }
    case 'null':
      if (node.operand.kind !== 'feature') throw new RuleSyntaxError('"is null" applies to a property', node.operand.at);
      return `(${access(node.operand.name, 'any', node.operand.at)} is ${node.negated ? 'not ' : ''}null)`;
    case 'truth':
      if (node.operand.kind !== 'feature') throw new RuleSyntaxError('expected a condition on a property', node.operand.at);
      return `(${access(node.operand.name, 'boolean', node.operand.at)} is true)`;
    case 'event':
      throw new RuleSyntaxError(`${node.fn}() cannot be used inside where:`, node.at);
  }
}

/** SQL text with its own bindings, written by `build` through the binder it receives. */
function piece(build: (bind: (v: Binding) => string) => string): { sql: string; bindings: Binding[] } {
  const bindings: Binding[] = [];
  const sql = build((v) => { bindings.push(v); return '?'; });
  return { sql, bindings };
}

/** Pieces and plain text in order, as one piece. */
function joined(items: ({ sql: string; bindings: Binding[] } | string)[]): { sql: string; bindings: Binding[] } {
  return {
    sql: `(${items.map((i) => (typeof i === 'string' ? i : i.sql)).join('')})`,
    bindings: items.flatMap((i) => (typeof i === 'string' ? [] : i.bindings)),
  };
}

/** JSON property access typed by `type`, over e.properties; the name is a binding. */
function propertyAccess(push: (v: Binding) => string, name: string, type: PropertyType | 'any'): string {
  if (type === 'any') return `(e.properties ->> ${push(name)})`;
  const json = type === 'text' ? 'string' : type;
  const cast = type === 'text' ? '' : type === 'number' ? '::numeric' : '::boolean';
  return `(case when jsonb_typeof(e.properties -> ${push(name)}) = '${json}' then (e.properties ->> ${push(name)})${cast} end)`;
}

/**
 * One event predicate: adds its column(s) to `parts` and returns the rule's SQL
 * for it (over the reference row `prefix`), pushing the rule's bindings via `push`.
 * The result is never null (a user without events gets false / 0).
 */
export function eventPredicateSql(call: EventCall, parts: EventParts, push: (v: Binding) => string, prefix: string): string {
  const total = parts.events.length + parts.outcomes.length + parts.sequences.length;
  if (total >= MAX_EVENT_PREDICATES) throw new RuleSyntaxError(`a rule may hold at most ${MAX_EVENT_PREDICATES} event predicates`, call.at);
  const bindings: Binding[] = [];
  const bind = (v: Binding) => { bindings.push(v); return '?'; };
  const event = call.events[0];
  for (const e of call.events) { parts.eventNames.add(e.name); parts.references.push({ event: e.name, at: e.at }); }
  /** The where: condition on the event's properties, binding through `b`. */
  const propertyCondition = (b: (v: Binding) => string) => {
    if (!call.where) return '';
    return ` and ${conditionSql(call.where, (name, type, at) => {
      parts.references.push({ event: event!.name, property: name, type, at });
      return propertyAccess(b, name, type);
    }, b)}`;
  };
  const eventWhere = () => propertyCondition(bind);
  const outcomeWhere = () => {
    if (!call.where) return '';
    return ` and ${conditionSql(call.where, (name, type, at) => {
      const column = OUTCOME_COLUMNS[name];
      if (!column) throw new RuleSyntaxError(`unknown outcome column "${name}"; known: ${Object.keys(OUTCOME_COLUMNS).join(', ')}`, at);
      if (type !== 'any' && type !== column) throw new RuleSyntaxError(`outcome column ${name} is ${column}, compared with a ${type} value`, at);
      return `o."${name}"`;
    }, bind)}`;
  };
  const compare = (column: string) => `(coalesce(${column}, 0) ${call.compare?.op ?? '>='} ${push(call.compare?.value ?? 1)})`;

  switch (call.fn) {
    case 'performed': {
      const alias = `p${total + 1}`;
      const counted = call.distinct ? `count(distinct ${propertyAccess(bind, call.distinct.name, 'any')})` : 'count(*)';
      if (call.distinct) parts.references.push({ event: event!.name, property: call.distinct.name, type: 'any', at: call.distinct.at });
      const rows = piece((b) => `(e.event = ${b(event!.name)}${propertyCondition(b)} and ${windowSql(call.window, 'e.occurred_at', 'r.', b)})`);
      const perUser = call.window.kind === 'ever' || call.window.kind === 'after_signup';
      parts.events.push({ alias, sql: `${counted} filter (where ${rows.sql})`, bindings: [...bindings, ...rows.bindings], rows, perUser });
      return compare(`ev."${alias}"`);
    }
    case 'first_performed': {
      const alias = `p${total + 1}`;
      parts.events.push({ alias, sql: `min(e.occurred_at) filter (where e.event = ${bind(event!.name)}${eventWhere()})`, bindings });
      const column = `ev."${alias}"`;
      return call.window.kind === 'ever' ? `(${column} is not null)` : `coalesce(${windowSql(call.window, column, prefix, push)}, false)`;
    }
    case 'stopped_performing':
    case 'restarted_performing': {
      const alias = `p${total + 1}`;
      const count = (period: (bind: (v: Binding) => string) => string) => piece((b) => `count(*) filter (where e.event = ${b(event!.name)}${propertyCondition(b)} and ${period(b)})`);
      const recent = count((b) => periodSql(call.span!, 1, 0, b));
      const previous = count((b) => periodSql(call.span!, 2, 1, b));
      const earlier = count((b) => `e.occurred_at < r.as_of_at - ${b(2 * hours(call.span!))}::int * interval '1 hour'`);
      const sql = call.fn === 'stopped_performing'
        ? joined([previous, ' > 0 and ', recent, ' = 0'])
        : joined([recent, ' > 0 and ', previous, ' = 0 and ', earlier, ' > 0']);
      parts.events.push({ alias, ...sql });
      return `coalesce(ev."${alias}", false)`;
    }
    case 'regularly': {
      const alias = `p${total + 1}`;
      const { times, periods, of } = call.regular!;
      const terms = Array.from({ length: of }, (_, i) =>
        piece((b) => `(count(*) filter (where e.event = ${b(event!.name)}${propertyCondition(b)} and ${periodSql(call.span!, i + 1, i, b)}) >= ${b(times)})::int`));
      const sum = joined(terms.flatMap((t, i) => (i === 0 ? [t] : [' + ', t])));
      parts.events.push({ alias, sql: `(${sum.sql}) >= ?`, bindings: [...sum.bindings, periods] });
      return `coalesce(ev."${alias}", false)`;
    }
    case 'sequence': {
      const alias = `s${total + 1}`;
      const [a, b] = [call.events[0]!, call.events[1]!];
      // For each event, the latest `a` strictly before it (RANGE ... 1 microsecond preceding:
      // timestamps are microseconds), so "a then b" never pairs an event with itself or a tie.
      const sql = `select s.user_key, bool_or(s.event = ${bind(b.name)} and s.occurred_at - s.last_a <= ${bind(hours(call.span!))}::int * interval '1 hour') as hit
        from (select e.user_key, e.event, e.occurred_at,
                     max(e.occurred_at) filter (where e.event = ${bind(a.name)}) over (partition by e.user_key order by e.occurred_at range between unbounded preceding and interval '1 microsecond' preceding) as last_a
              from {events} e join {features} r on r.user_key = e.user_key
              where e.event in (${bind(a.name)}, ${bind(b.name)}) and e.occurred_at < r.as_of_at and ${windowSql(call.window, 'e.occurred_at', 'r.', bind)}) s
        group by s.user_key`;
      parts.sequences.push({ alias, sql, bindings });
      return `coalesce(${alias}.hit, false)`;
    }
    case 'revenue': {
      const alias = `p${total + 1}`;
      const sql = `sum(o.revenue_usd) filter (where o.is_revenue${outcomeWhere()} and ${windowSql(call.window, 'o.occurred_at', 'r.', bind)})`;
      parts.outcomes.push({ alias, sql, bindings });
      return compare(`oc."${alias}"`);
    }
    default: {
      // purchased, upgraded, downgraded, refunded, churned: distinct orders (an order has many lines).
      const alias = `p${total + 1}`;
      const sql = `count(distinct coalesce(o.order_id, o.outcome_id)) filter (where o.outcome_type = ${bind(OUTCOME_TYPES[call.fn]!)}${outcomeWhere()} and ${windowSql(call.window, 'o.occurred_at', 'r.', bind)})`;
      parts.outcomes.push({ alias, sql, bindings });
      return compare(`oc."${alias}"`);
    }
  }
}

