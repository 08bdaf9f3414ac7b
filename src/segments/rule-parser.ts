/**
 * The rule language of segment definitions: a small, safe boolean expression syntax.
 *
 *   first_week_features >= 3 and plan in ('pro', 'team') and not has_churned
 *   country = 'Germany' or (age between 25 and 34 and primary_goal is not null)
 *
 * Comparisons (= != <> < <= > >=), and / or / not, parentheses, [not] in (...),
 * [not] between ... and ..., is [not] null, bare boolean features. Literals are
 * numbers, 'single-quoted strings' ('' escapes a quote), true and false, and the
 * event predicates (performed(...), sequence(...), purchased(...), ...; see
 * event-predicates.ts) with their windows. Nothing else: no other functions, no SQL,
 * no operators on values. The parser works with loops,
 * not recursion, over and/or lists, so a rule of 10k terms parses; nesting of
 * parentheses is bounded.
 */

export type Literal = { kind: 'number'; value: number } | { kind: 'string'; value: string } | { kind: 'boolean'; value: boolean };
export type Operand = { kind: 'feature'; name: string; at: number } | (Literal & { at: number });
export type RuleNode =
  | { kind: 'or' | 'and'; items: RuleNode[] }
  | { kind: 'not'; item: RuleNode }
  | { kind: 'compare'; op: '=' | '<>' | '<' | '<=' | '>' | '>='; left: Operand; right: Operand }
  | { kind: 'in'; negated: boolean; operand: Operand; values: Operand[] }
  | { kind: 'between'; negated: boolean; operand: Operand; low: Operand; high: Operand }
  | { kind: 'null'; negated: boolean; operand: Operand }
  | { kind: 'truth'; operand: Operand }
  | EventCall;

/** Functions over what users did (core.fct_events) and what they bought (core.fct_outcomes). */
export const EVENT_FUNCTIONS = ['performed', 'first_performed', 'stopped_performing', 'restarted_performing', 'regularly', 'sequence'] as const;
export const OUTCOME_FUNCTIONS = ['purchased', 'upgraded', 'downgraded', 'refunded', 'churned', 'revenue'] as const;
export type EventFunction = (typeof EVENT_FUNCTIONS)[number] | (typeof OUTCOME_FUNCTIONS)[number];
export type TimeUnit = 'hours' | 'days' | 'weeks';
export interface Span { amount: number; unit: TimeUnit; at: number }
/** Relative to the build's reference time (as_of_at) or to the user's signup; intervals are half-open [from, to). */
export type Window =
  | { kind: 'ever' }
  | { kind: 'last'; span: Span }
  | { kind: 'ago'; near: Span; far: Span }
  | { kind: 'after_signup'; span: Span };
export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';
export interface EventCall {
  kind: 'event';
  fn: EventFunction;
  at: number;
  /** The event names (two for sequence, none for outcomes). */
  events: { name: string; at: number }[];
  /** where: a condition on the event's properties (or the outcome's columns). */
  where?: RuleNode;
  /** distinct: count distinct values of this property instead of events. */
  distinct?: { name: string; at: number };
  /** The period of stopped/restarted/regularly, the `within` of sequence. */
  span?: Span;
  /** regularly: at least `times` events per period in `periods` of the last `of` periods. */
  regular?: { times: number; periods: number; of: number; at: number };
  compare?: { op: CompareOp; value: number; at: number };
  window: Window;
}

/** A problem in a rule, at a character offset of its text. */
export class RuleSyntaxError extends Error {
  constructor(message: string, readonly at: number) {
    super(message);
  }
}

const MAX_NESTING = 64;
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'between', 'is', 'null', 'true', 'false']);
const FUNCTIONS = new Set<string>([...EVENT_FUNCTIONS, ...OUTCOME_FUNCTIONS]);
const UNITS: Record<string, TimeUnit> = { hour: 'hours', hours: 'hours', day: 'days', days: 'days', week: 'weeks', weeks: 'weeks' };

type Token =
  | { type: 'word'; text: string; at: number }
  | { type: 'number'; value: number; at: number }
  | { type: 'string'; value: string; at: number }
  | { type: 'op'; text: string; at: number }
  | { type: 'end'; at: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) { i++; continue; }
    const at = i;
    if (/[A-Za-z_]/.test(ch)) {
      while (i < source.length && /[A-Za-z0-9_]/.test(source[i]!)) i++;
      tokens.push({ type: 'word', text: source.slice(at, i), at });
    } else if (/[0-9]/.test(ch) || (ch === '-' && /[0-9]/.test(source[i + 1] ?? '') && !isValueToken(tokens.at(-1)))) {
      i++;
      while (i < source.length && /[0-9.]/.test(source[i]!)) i++;
      const text = source.slice(at, i);
      if (!/^-?\d+(\.\d+)?$/.test(text)) throw new RuleSyntaxError(`"${text}" is not a number`, at);
      tokens.push({ type: 'number', value: Number(text), at });
    } else if (ch === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new RuleSyntaxError('unterminated string (strings are in single quotes)', at);
        if (source[i] === "'") {
          if (source[i + 1] === "'") { value += "'"; i += 2; continue; }
          i++;
          break;
        }
        value += source[i++];
      }
      tokens.push({ type: 'string', value, at });
    } else {
      const two = source.slice(i, i + 2);
      if (['<=', '>=', '<>', '!='].includes(two)) { tokens.push({ type: 'op', text: two === '!=' ? '<>' : two, at }); i += 2; continue; }
      if ('=<>(),:'.includes(ch)) { tokens.push({ type: 'op', text: ch, at }); i++; continue; }
      if (ch === '"') throw new RuleSyntaxError('double quotes are not allowed: features are plain names, strings use single quotes', at);
      if (ch === ';' || (ch === '-' && source[i + 1] === '-') || (ch === '/' && source[i + 1] === '*')) throw new RuleSyntaxError(`"${ch}" is not part of the rule language (rules are expressions, not SQL)`, at);
      throw new RuleSyntaxError(`unexpected character "${ch}"`, at);
    }
  }
  tokens.push({ type: 'end', at: source.length });
  return tokens;
}

function isValueToken(token: Token | undefined): boolean {
  return token?.type === 'number' || token?.type === 'string' || (token?.type === 'word' && !KEYWORDS.has(token.text.toLowerCase())) || (token?.type === 'op' && token.text === ')');
}

export function parseRule(source: string): RuleNode {
  if (source.trim() === '') throw new RuleSyntaxError('the rule is empty', 0);
  const tokens = tokenize(source);
  let pos = 0;
  const peek = () => tokens[pos]!;
  const isWord = (word: string, token = peek()) => token.type === 'word' && token.text.toLowerCase() === word;
  const isOp = (op: string, token = peek()) => token.type === 'op' && token.text === op;
  const describe = (token: Token) => (token.type === 'end' ? 'the end of the rule' : token.type === 'word' || token.type === 'op' ? `"${token.text}"` : token.type === 'string' ? `'${token.value}'` : `${token.value}`);
  const expect = (what: string, ok: boolean) => {
    if (!ok) throw new RuleSyntaxError(`expected ${what}, found ${describe(peek())}`, peek().at);
    return tokens[pos++]!;
  };

  const operand = (): Operand => {
    const token = peek();
    if (token.type === 'number') { pos++; return { kind: 'number', value: token.value, at: token.at }; }
    if (token.type === 'string') { pos++; return { kind: 'string', value: token.value, at: token.at }; }
    if (token.type === 'word') {
      const word = token.text.toLowerCase();
      if (word === 'true' || word === 'false') { pos++; return { kind: 'boolean', value: word === 'true', at: token.at }; }
      if (KEYWORDS.has(word)) throw new RuleSyntaxError(`expected a feature or a value, found "${token.text}"`, token.at);
      pos++;
      return { kind: 'feature', name: token.text, at: token.at };
    }
    throw new RuleSyntaxError(`expected a feature or a value, found ${describe(token)}`, token.at);
  };

  // or / and lists are loops; only parentheses and `not` recurse, and both are bounded.
  const expression = (depth: number): RuleNode => {
    if (depth > MAX_NESTING) throw new RuleSyntaxError(`parentheses nested deeper than ${MAX_NESTING}`, peek().at);
    const ors: RuleNode[] = [];
    do {
      const ands: RuleNode[] = [];
      do ands.push(unary(depth));
      while (isWord('and') && ++pos);
      ors.push(ands.length === 1 ? ands[0]! : { kind: 'and', items: ands });
    } while (isWord('or') && ++pos);
    return ors.length === 1 ? ors[0]! : { kind: 'or', items: ors };
  };

  const unary = (depth: number): RuleNode => {
    let negations = 0;
    while (isWord('not')) { pos++; if (++negations > MAX_NESTING) throw new RuleSyntaxError('too many "not"s', peek().at); }
    let node = predicate(depth);
    for (let i = 0; i < negations; i++) node = { kind: 'not', item: node };
    return node;
  };

  const predicate = (depth: number): RuleNode => {
    if (isOp('(')) {
      pos++;
      const inner = expression(depth + 1);
      expect('")"', isOp(')'));
      return inner;
    }
    if (peek().type === 'word' && FUNCTIONS.has((peek() as { text: string }).text.toLowerCase()) && isOp('(', tokens[pos + 1])) return eventCall(depth);
    const left = operand();
    const token = peek();
    if (token.type === 'op' && ['=', '<>', '<', '<=', '>', '>='].includes(token.text)) {
      pos++;
      return { kind: 'compare', op: token.text as '=', left, right: operand() };
    }
    if (isWord('is')) {
      pos++;
      const negated = isWord('not') && ++pos > 0;
      expect('"null"', isWord('null'));
      return { kind: 'null', negated, operand: left };
    }
    const negated = isWord('not') && (isWord('in', tokens[pos + 1]) || isWord('between', tokens[pos + 1])) && ++pos > 0;
    if (isWord('in')) {
      pos++;
      expect('"(" after in', isOp('('));
      const values: Operand[] = [];
      do values.push(operand());
      while (isOp(',') && ++pos);
      expect('"," or ")"', isOp(')'));
      return { kind: 'in', negated, operand: left, values };
    }
    if (isWord('between')) {
      pos++;
      const low = operand();
      expect('"and" in between ... and ...', isWord('and'));
      return { kind: 'between', negated, operand: left, low, high: operand() };
    }
    if (negated) throw new RuleSyntaxError('expected "in" or "between" after "not"', peek().at);
    return { kind: 'truth', operand: left };
  };

  const whole = (what: string, min: number, max: number): number => {
    const token = peek();
    if (token.type !== 'number' || !Number.isInteger(token.value) || token.value < min || token.value > max) {
      throw new RuleSyntaxError(`expected ${what} (a whole number ${min}–${max}), found ${describe(token)}`, token.at);
    }
    pos++;
    return token.value;
  };
  /** `7 days`, `24 hours`, `2 weeks`: bounded to ten years. */
  const span = (): Span => {
    const at = peek().at;
    const amount = whole('a duration', 1, 87_600);
    const unit = peek().type === 'word' ? UNITS[(peek() as { text: string }).text.toLowerCase()] : undefined;
    if (!unit) throw new RuleSyntaxError(`expected a unit (hours, days or weeks), found ${describe(peek())}`, peek().at);
    pos++;
    const hours = amount * (unit === 'hours' ? 1 : unit === 'days' ? 24 : 168);
    if (hours > 87_600) throw new RuleSyntaxError('durations are at most ten years', at);
    return { amount, unit, at };
  };
  const window = (): Window => {
    if (isWord('in') && isWord('last', tokens[pos + 1])) { pos += 2; return { kind: 'last', span: span() }; }
    if (isWord('in') && isWord('first', tokens[pos + 1])) {
      pos += 2;
      const first = span();
      expect('"after" (in first N days after signup)', isWord('after'));
      expect('"signup"', isWord('signup'));
      return { kind: 'after_signup', span: first };
    }
    if (isWord('between')) {
      pos++;
      const at = peek().at;
      const near = whole('a number', 0, 87_600);
      expect('"and" in between N and M days ago', isWord('and'));
      const far = span();
      expect('"ago" (between N and M days ago)', isWord('ago'));
      if (far.amount <= near) throw new RuleSyntaxError(`between ${near} and ${far.amount} ${far.unit} ago: the first number must be the smaller`, at);
      return { kind: 'ago', near: { amount: near, unit: far.unit, at }, far };
    }
    return { kind: 'ever' };
  };
  const eventCall = (depth: number): RuleNode => {
    const head = tokens[pos]! as { text: string; at: number };
    const fn = head.text.toLowerCase() as EventFunction;
    pos += 2;
    const call: EventCall = { kind: 'event', fn, at: head.at, events: [], window: { kind: 'ever' } };
    const isOutcome = (OUTCOME_FUNCTIONS as readonly string[]).includes(fn);
    const eventNames = fn === 'sequence' ? 2 : isOutcome ? 0 : 1;
    let first = true;
    const comma = () => { if (!first) expect('"," or ")"', isOp(',')); first = false; };
    for (let i = 0; i < eventNames; i++) {
      comma();
      const token = peek();
      if (token.type !== 'string') throw new RuleSyntaxError(`${fn}() expects ${eventNames === 2 ? 'two event names' : 'an event name'} in single quotes, found ${describe(token)}`, token.at);
      pos++;
      call.events.push({ name: token.value, at: token.at });
    }
    if (fn === 'stopped_performing' || fn === 'restarted_performing') { comma(); call.span = span(); }
    if (fn === 'regularly') {
      comma();
      const at = peek().at;
      const times = whole('how many times', 1, 100_000);
      expect('"times" (N times per 7 days)', isWord('times'));
      expect('"per"', isWord('per'));
      call.span = span();
      expect('"," then "in M of the last P periods"', isOp(','));
      expect('"in"', isWord('in'));
      const periodsAt = peek().at;
      const periods = whole('how many periods', 1, 52);
      expect('"of"', isWord('of'));
      expect('"the"', isWord('the'));
      expect('"last"', isWord('last'));
      const of = whole('how many periods', 1, 52);
      expect('"periods"', isWord('periods') || isWord('period'));
      if (periods > of) throw new RuleSyntaxError(`in ${periods} of the last ${of} periods: ${periods} is more than ${of}`, periodsAt);
      call.regular = { times, periods, of, at };
    }
    while (!isOp(')')) {
      comma();
      const name = peek();
      if (name.type !== 'word' || !isOp(':', tokens[pos + 1])) throw new RuleSyntaxError(`expected a named argument (where:, distinct:${fn === 'sequence' ? ', within:' : ''}) or ")", found ${describe(name)}`, name.at);
      const key = name.text.toLowerCase();
      pos += 2;
      if (key === 'where' && fn !== 'sequence' && !call.where) call.where = expression(depth + 1);
      else if (key === 'distinct' && fn === 'performed' && !call.distinct) {
        const property = peek();
        if (property.type !== 'word' || KEYWORDS.has(property.text.toLowerCase())) throw new RuleSyntaxError(`distinct: expects a property name, found ${describe(property)}`, property.at);
        pos++;
        call.distinct = { name: property.text, at: property.at };
      } else if (key === 'within' && fn === 'sequence' && !call.span) call.span = span();
      else throw new RuleSyntaxError(`${fn}() does not take ${key}:${call.where || call.distinct || call.span ? ' (or takes it once)' : ''}`, name.at);
    }
    pos++;
    if (fn === 'sequence' && !call.span) throw new RuleSyntaxError('sequence() needs within: (e.g. within: 1 day)', head.at);
    const op = peek();
    if (op.type === 'op' && ['=', '<>', '<', '<=', '>', '>='].includes(op.text)) {
      if (fn !== 'performed' && !isOutcome) throw new RuleSyntaxError(`${fn}() is a condition, not a number: it takes no comparison`, op.at);
      pos++;
      const value = peek();
      if (value.type !== 'number' || (fn !== 'revenue' && (!Number.isInteger(value.value) || value.value < 0))) throw new RuleSyntaxError(`expected ${fn === 'revenue' ? 'an amount' : 'a count (a whole number ≥ 0)'}, found ${describe(value)}`, value.at);
      pos++;
      call.compare = { op: op.text as CompareOp, value: value.value, at: value.at };
    } else if (fn === 'revenue') throw new RuleSyntaxError('revenue() is an amount: compare it (e.g. revenue() >= 100 in last 90 days)', op.at);
    if (!['stopped_performing', 'restarted_performing', 'regularly'].includes(fn)) call.window = window();
    return call;
  };

  const tree = expression(0);
  if (peek().type !== 'end') throw new RuleSyntaxError(`unexpected ${describe(peek())}: expected "and", "or" or the end of the rule`, peek().at);
  return tree;
}
