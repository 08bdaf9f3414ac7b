// @ts-check
/**
 * Reading seglayer's YAML files (segments, mappings, the access policy): one parser that
 * refuses syntax errors and aliases, and one locator of a path of keys on the `yaml`
 * package's own positions and LineCounter.
 */
import { isMap, isPair, isScalar, LineCounter, parseDocument, visit } from 'yaml';

/**
 * Parses a YAML file keeping positions, and says what makes it unreadable before any schema
 * looks at it: its syntax errors, else its first alias. Aliases (`*name`) let a small file
 * expand into a huge one (a 1 MB segments file once became a 180 MB Cube model), so
 * seglayer's YAML files (segments, mappings, the access policy) accept none.
 * @param {string} text @param {string} file how to name the file in issues
 * @returns {{ doc: import('yaml').Document.Parsed, lineCounter: LineCounter, issues: import('./user-error.js').Issue[] }}
 */
export function parseYamlFile(text, file) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  /** @type {import('./user-error.js').Issue[]} */
  const issues = doc.errors.map((error) => {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    return { code: 'yaml_syntax', path: [], message: `not valid YAML: ${error.message.split('\n')[0]}`, file, line, column: col };
  });
  if (issues.length === 0) {
    visit(doc, {
      Alias: (_key, node) => {
        const { line } = lineCounter.linePos(node.range?.[0] ?? 0);
        issues.push({ code: 'yaml_alias', path: [], message: `YAML aliases (*${node.source}) are not accepted; write the value out`, file, line });
        return visit.BREAK;
      },
    });
  }
  return { doc, lineCounter, issues };
}

/**
 * Line and column (1-based) of the value at `path`; for a key written without a value, or a
 * path that ends in an unknown key, the key itself; else the nearest existing ancestor.
 * With `{ key: true }`, the key's own position (for an unknown key, say).
 * @param {import('yaml').Document} doc @param {LineCounter} lineCounter @param {readonly PropertyKey[]} path
 * @param {{ key?: boolean }} [options]
 * @returns {{ line?: number, column?: number }}
 */
export function yamlLocation(doc, lineCounter, path, options = {}) {
  for (let depth = path.length; depth >= 0; depth--) {
    const keys = /** @type {unknown[]} */ (path.slice(0, depth));
    const node = /** @type {any} */ (keys.length === 0 ? doc.contents : doc.getIn(keys, true));
    let offset = options.key && depth === path.length ? undefined : node?.range?.[0];
    if (offset === undefined && keys.length > 0) {
      // A key whose value is empty (`viewer:`): point at the key.
      const parent = /** @type {any} */ (keys.length === 1 ? doc.contents : doc.getIn(keys.slice(0, -1), true));
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === keys[keys.length - 1]);
        offset = /** @type {any} */ (pair?.key)?.range?.[0];
      }
    }
    if (offset !== undefined) {
      const { line, col } = lineCounter.linePos(offset);
      return { line, column: col };
    }
  }
  return {};
}

/**
 * Zod's issues for a value read from a YAML file, as seglayer issues with file, line and
 * column; an unknown key becomes one issue per key, placed at the key.
 * @param {readonly import('zod').core.$ZodIssue[]} zodIssues
 * @param {{ doc: import('yaml').Document, lineCounter: LineCounter, file: string, prefix?: (string|number)[], knownKeys?: (path: (string|number)[]) => string[] | undefined }} where
 * @returns {import('./user-error.js').Issue[]}
 */
export function issuesInYaml(zodIssues, { doc, lineCounter, file, prefix = [], knownKeys }) {
  return zodIssues.flatMap((issue) => {
    const path = [...prefix, .../** @type {(string|number)[]} */ (issue.path)];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys?.(path);
      return issue.keys.map((key) => ({
        code: 'unknown_key',
        path: [...path, key],
        message: known ? `unknown key; known: ${known.join(', ')}` : 'unknown key',
        file,
        ...yamlLocation(doc, lineCounter, [...path, key], { key: true }),
      }));
    }
    return [{ code: issue.code, path, message: issue.message, file, ...yamlLocation(doc, lineCounter, path) }];
  });
}

/**
 * The position of character `offset` inside the one-line scalar at `path` (a column in a
 * rule, say); for a block scalar or a missing node, where yamlLocation puts the path.
 * @param {import('yaml').Document} doc @param {LineCounter} lineCounter @param {readonly PropertyKey[]} path @param {number} offset
 * @returns {{ line?: number, column?: number }}
 */
export function yamlScalarPosition(doc, lineCounter, path, offset) {
  const node = /** @type {any} */ (doc.getIn(/** @type {unknown[]} */ (path), true));
  if (isScalar(node) && node.range) {
    const [start, end] = node.range;
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
    const block = node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED';
    const { line: first } = lineCounter.linePos(start);
    const { line: last } = lineCounter.linePos(Math.max(start, end - 1));
    if (!block && first === last) {
      const { line, col } = lineCounter.linePos(start + offset + (quoted ? 1 : 0));
      return { line, column: col };
    }
  }
  return yamlLocation(doc, lineCounter, path);
}
