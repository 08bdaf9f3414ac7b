// @ts-check
/**
 * YAML aliases (`*name`) let a small file expand into a huge one (a 1 MB segments file
 * once became a 180 MB Cube model): seglayer's YAML files (segments, mappings, the access
 * policy) accept none. Plain JavaScript: the access policy, which cube.js imports, uses it.
 */
import { visit } from 'yaml';

/**
 * The first alias in a parsed document, with the 1-based line it is on; undefined if none.
 * @param {import('yaml').Document} doc @param {string} text
 * @returns {{ line: number, message: string } | undefined}
 */
export function firstAlias(doc, text) {
  /** @type {{ line: number, message: string } | undefined} */
  let found;
  visit(doc, {
    Alias: (_key, node) => {
      const offset = node.range?.[0] ?? 0;
      found = { line: text.slice(0, offset).split('\n').length, message: `YAML aliases (*${node.source}) are not accepted; write the value out` };
      return visit.BREAK;
    },
  });
  return found;
}
