/**
 * What a GraphQL document may ask of Cube, checked before Cube's resolvers run.
 *
 * Cube's GraphQL resolver turns each root `cube` field into one query, copying its
 * `timezone`, `limit`, `offset` and `renewQuery` arguments into it. queryRewrite checks
 * those queries too (query-guard.js); the gateway checks the document first so a hostile
 * one is refused whole with a 400, before any of its queries runs, and so that each `cube`
 * field (aliases included) is counted against the caller's rate limit.
 */
import { Kind, parse, type ArgumentNode, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode, type ValueNode, GraphQLError } from 'graphql';
import { isHidden, type CallerAccess } from '../governance/access-policy.js';
import { QueryRefused, checkQuery, type QueryLimits } from '../governance/query-guard.js';

/** Deepest nesting of `{`, `(` and `[` accepted in a document's text. */
const MAX_DOCUMENT_DEPTH = 24;
/** Aliased fields anywhere in a document. */
const MAX_ALIASES = 50;

export class GraphqlRefused extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
    this.name = 'GraphqlRefused';
  }
}

export interface GraphqlCheck {
  /** Root `cube` fields: the number of Cube queries the document runs. */
  queries: number;
}

export function checkGraphqlDocument(
  text: string,
  variables: Record<string, unknown> | null | undefined,
  access: CallerAccess,
  limits: QueryLimits,
): GraphqlCheck {
  const depth = documentDepth(text);
  if (depth > MAX_DOCUMENT_DEPTH) throw new GraphqlRefused(`GraphQL document nests ${depth} levels deep; at most ${MAX_DOCUMENT_DEPTH}`);
  let document: DocumentNode;
  try {
    document = parse(text, { noLocation: false });
  } catch (error) {
    throw new GraphqlRefused(error instanceof GraphQLError ? `GraphQL syntax error: ${error.message}` : 'GraphQL document does not parse');
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  let queries = 0;
  let aliases = 0;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    if (definition.operation !== 'query') throw new GraphqlRefused(`GraphQL ${definition.operation}s are not served; only queries`);
    // A variable the request leaves out takes its default from the document.
    const values: Record<string, unknown> = {};
    for (const variable of definition.variableDefinitions ?? []) {
      if (variable.defaultValue) values[variable.variable.name.value] = scalarValue(variable.defaultValue, undefined);
    }
    Object.assign(values, variables ?? {});
    // Root fields, with fragments spread in (iteratively; a fragment is expanded once).
    const pending: SelectionSetNode[] = [definition.selectionSet];
    const expanded = new Set<string>();
    while (pending.length > 0) {
      for (const selection of pending.pop()!.selections) {
        if (selection.kind === Kind.INLINE_FRAGMENT) pending.push(selection.selectionSet);
        else if (selection.kind === Kind.FRAGMENT_SPREAD) {
          const fragment = fragments.get(selection.name.value);
          if (fragment && !expanded.has(fragment.name.value)) {
            expanded.add(fragment.name.value);
            pending.push(fragment.selectionSet);
          }
        } else if (selection.name.value === '__schema' || selection.name.value === '__type') {
          // The schema is Cube's, built for every role alike: it would list hidden members.
          if (!access.canInspect) throw new GraphqlRefused(`GraphQL introspection is not available to role "${access.role}"; see /cubejs-api/v1/meta for what it may query`, 403);
        } else if (selection.name.value === 'cube') {
          queries++;
          checkCubeField(selection.arguments ?? [], selection.selectionSet, values, access, limits);
        }
      }
    }
    aliases += countAliases(definition.selectionSet);
  }
  for (const fragment of fragments.values()) aliases += countAliases(fragment.selectionSet);
  if (queries > limits.max_graphql_queries) throw new GraphqlRefused(`GraphQL document asks ${queries} cube queries; at most ${limits.max_graphql_queries} in one request`);
  if (aliases > MAX_ALIASES) throw new GraphqlRefused(`GraphQL document has ${aliases} aliases; at most ${MAX_ALIASES}`);
  return { queries };
}

/** The arguments Cube copies into its query, checked like a REST query; and hidden members named outright. */
function checkCubeField(
  args: readonly ArgumentNode[],
  selectionSet: SelectionSetNode | undefined,
  variables: Record<string, unknown> | null | undefined,
  access: CallerAccess,
  limits: QueryLimits,
): void {
  const query: Record<string, unknown> = {};
  for (const argument of args) {
    const name = argument.name.value;
    if (!['timezone', 'limit', 'offset', 'renewQuery'].includes(name)) continue;
    const value = scalarValue(argument.value, variables);
    if (value !== undefined && value !== null) query[name] = value;
  }
  try {
    checkQuery(limits, access, query);
  } catch (error) {
    if (error instanceof QueryRefused) throw new GraphqlRefused(error.message);
    throw error;
  }
  for (const view of selectionSet?.selections ?? []) {
    if (view.kind !== Kind.FIELD) continue;
    for (const member of view.selectionSet?.selections ?? []) {
      if (member.kind !== Kind.FIELD) continue;
      const name = `${view.name.value}.${member.name.value}`;
      if (isHidden(access, name)) throw new GraphqlRefused(`role "${access.role}" may not use ${name}`, 403);
    }
  }
}

/** A scalar argument's value, written inline or passed as a variable; other kinds as a marker that fails the check. */
function scalarValue(node: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (node.kind) {
    case Kind.VARIABLE: return variables?.[node.name.value];
    case Kind.STRING: case Kind.ENUM: return node.value;
    case Kind.INT: return Number(node.value);
    case Kind.FLOAT: return Number(node.value);
    case Kind.BOOLEAN: return node.value;
    case Kind.NULL: return null;
    default: return { kind: node.kind };
  }
}

function countAliases(root: SelectionSetNode): number {
  let count = 0;
  const pending: SelectionSetNode[] = [root];
  while (pending.length > 0) {
    for (const selection of pending.pop()!.selections) {
      if (selection.kind === Kind.FIELD && selection.alias) count++;
      if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) pending.push(selection.selectionSet);
    }
  }
  return count;
}

/** Deepest nesting of brackets outside strings and comments, in one pass without recursion. */
export function documentDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"') {
      if (text.startsWith('"""', i)) {
        const end = text.indexOf('"""', i + 3);
        i = end < 0 ? text.length : end + 2;
      } else {
        for (i++; i < text.length && text[i] !== '"' && text[i] !== '\n'; i++) if (text[i] === '\\') i++;
      }
    } else if (c === '{' || c === '(' || c === '[') {
      if (++depth > deepest) deepest = depth;
    } else if (c === '}' || c === ')' || c === ']') depth--;
  }
  return deepest;
}
