/**
 * The rule language of segment definitions: a small, safe boolean expression syntax.
 *
 *   first_week_features >= 3 and plan in ('pro', 'team') and not has_churned
 *   country = 'Germany' or (age between 25 and 34 and primary_goal is not null)
 *
 * Comparisons (= != <> < <= > >=), and / or / not, parentheses, [not] in (...),
 * [not] between ... and ..., is [not] null, bare boolean features. Literals are
 * numbers, 'single-quoted strings' ('' escapes a quote), true and false. Nothing
 * else: no functions, no SQL, no operators on values. The parser works with loops,
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
  | { kind: 'truth'; operand: Operand };

/** A problem in a rule, at a character offset of its text. */
export class RuleSyntaxError extends Error {
  constructor(message: string, readonly at: number) {
    super(message);
  }
}

const MAX_NESTING = 64;
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'between', 'is', 'null', 'true', 'false']);

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
      if ('=<>(),'.includes(ch)) { tokens.push({ type: 'op', text: ch, at }); i++; continue; }
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

  const tree = expression(0);
  if (peek().type !== 'end') throw new RuleSyntaxError(`unexpected ${describe(peek())}: expected "and", "or" or the end of the rule`, peek().at);
  return tree;
}
