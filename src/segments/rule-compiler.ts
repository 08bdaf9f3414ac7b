/**
 * Rule AST → parameterized SQL over a table of features. Feature names are checked
 * against a catalog (name → type) and quoted; every value is a binding. Types are
 * checked so `plan > 3` or `age = 'old'` fail before anything runs.
 */
import { emptyEventParts, eventPredicateSql, type EventParts } from './event-predicates.ts';
import { parseRule, RuleSyntaxError, type Operand, type RuleNode } from './rule-parser.ts';

export type FeatureType = 'number' | 'text' | 'boolean' | 'time';
export type FeatureCatalog = ReadonlyMap<string, FeatureType>;

export interface CompiledRule {
  /** SQL boolean expression with `?` placeholders. */
  sql: string;
  bindings: (string | number | boolean)[];
  /** Features the rule reads. */
  features: string[];
  /** What the rule's event predicates need computed (columns ev.pN, oc.pN, sN.hit); empty without them. */
  eventParts: EventParts;
}

/** Most bindings one rule may carry (PostgreSQL allows 65,535 per statement). */
export const MAX_RULE_VALUES = 20_000;

export function compileRule(source: string, catalog: FeatureCatalog, qualifier = ''): CompiledRule {
  const tree = parseRule(source);
  const bindings: (string | number | boolean)[] = [];
  const features = new Set<string>();
  const prefix = qualifier ? `${qualifier}.` : '';
  const eventParts = emptyEventParts();
  const bind = (value: string | number | boolean) => {
    if (bindings.length >= MAX_RULE_VALUES) throw new RuleSyntaxError(`the rule has more than ${MAX_RULE_VALUES} values`, 0);
    bindings.push(value);
    return '?';
  };

  const typeOf = (operand: Operand): FeatureType | 'string' => {
    if (operand.kind === 'feature') {
      const type = catalog.get(operand.name);
      if (!type) throw new RuleSyntaxError(`unknown feature "${operand.name}"${suggest(operand.name, catalog)}`, operand.at);
      return type;
    }
    return operand.kind === 'string' ? 'string' : operand.kind;
  };
  /** Compatible types: a string literal stands for a text value or a time ('2025-01-01'). */
  const unify = (a: Operand, b: Operand, what: string) => {
    const ta = typeOf(a);
    const tb = typeOf(b);
    const ok = ta === tb || (ta === 'string' && (tb === 'text' || tb === 'time')) || (tb === 'string' && (ta === 'text' || ta === 'time'));
    if (!ok) {
      const at = a.kind === 'feature' ? b : a;
      throw new RuleSyntaxError(`type mismatch in ${what}: ${label(a, ta)} vs ${label(b, tb)}`, at.at);
    }
    if ((ta === 'time' && tb === 'string') || (tb === 'time' && ta === 'string')) {
      const literal = (ta === 'string' ? a : b) as Operand & { kind: 'string' };
      if (Number.isNaN(Date.parse(literal.value))) throw new RuleSyntaxError(`'${literal.value}' is not a date or timestamp`, literal.at);
    }
  };
  const emit = (operand: Operand): string => {
    if (operand.kind === 'feature') {
      features.add(operand.name);
      return `${prefix}"${operand.name}"`;
    }
    if (bindings.length >= MAX_RULE_VALUES) throw new RuleSyntaxError(`the rule has more than ${MAX_RULE_VALUES} values`, operand.at);
    bindings.push(operand.value);
    return '?';
  };
  const visit = (node: RuleNode): string => {
    switch (node.kind) {
      case 'or':
      case 'and':
        return `(${node.items.map(visit).join(` ${node.kind} `)})`;
      case 'not':
        return `(not ${visit(node.item)})`;
      case 'compare':
        unify(node.left, node.right, `"${node.op}"`);
        if (typeOf(node.left) === 'boolean' && !['=', '<>'].includes(node.op)) throw new RuleSyntaxError(`booleans compare only with = and <>`, node.left.at);
        return `(${emit(node.left)} ${node.op} ${emit(node.right)})`;
      case 'in':
        node.values.forEach((value) => unify(node.operand, value, '"in"'));
        return `(${emit(node.operand)} ${node.negated ? 'not in' : 'in'} (${node.values.map(emit).join(', ')}))`;
      case 'between':
        unify(node.operand, node.low, '"between"');
        unify(node.operand, node.high, '"between"');
        return `(${emit(node.operand)} ${node.negated ? 'not between' : 'between'} ${emit(node.low)} and ${emit(node.high)})`;
      case 'null':
        if (node.operand.kind !== 'feature') throw new RuleSyntaxError('"is null" applies to a feature', node.operand.at);
        typeOf(node.operand);
        return `(${emit(node.operand)} is ${node.negated ? 'not ' : ''}null)`;
      case 'truth': {
        const type = typeOf(node.operand);
        if (type !== 'boolean') throw new RuleSyntaxError(`${label(node.operand, type)} is not a condition: compare it (e.g. ${node.operand.kind === 'feature' ? node.operand.name : 'x'} > 0)`, node.operand.at);
        return `(${emit(node.operand)} is true)`;
      }
      case 'event':
        return eventPredicateSql(node, eventParts, bind, prefix);
    }
  };
  const sql = visit(tree);
  const eventValues = [...eventParts.events, ...eventParts.outcomes, ...eventParts.sequences].reduce((n, c) => n + c.bindings.length, 0);
  if (bindings.length + eventValues > MAX_RULE_VALUES) throw new RuleSyntaxError(`the rule has more than ${MAX_RULE_VALUES} values`, 0);
  return { sql, bindings, features: [...features], eventParts };
}

function label(operand: Operand, type: string): string {
  return operand.kind === 'feature' ? `${operand.name} (${type})` : `${operand.kind === 'string' ? `'${operand.value}'` : String(operand.value)} (${type === 'string' ? 'text' : type})`;
}

/** "; did you mean a, b?" for the known names nearest to `name`, or ''. */
export function suggest(name: string, catalog: ReadonlyMap<string, unknown> | Iterable<string>): string {
  const close = [...(catalog instanceof Map ? catalog.keys() : (catalog as Iterable<string>))].filter((known) => (name.length > 2 && (known.includes(name) || name.includes(known))) || (distance(known, name) <= 2 && distance(known, name) < name.length));
  return close.length > 0 ? `; did you mean ${close.slice(0, 3).join(', ')}?` : '';
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
