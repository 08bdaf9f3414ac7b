// @ts-check
/**
 * One shape for every mistake a user can fix: a list of issues in Zod's shape (`code`,
 * `path`, `message`) plus where it is (`file`, `line`, `column`) when it is in a file. The
 * CLI prints any UserError as its message and exits 1, with no stack and no list of error
 * classes to keep by hand; subclasses only name the area (a ConfigError, a LoadError, ...).
 *
 * Plain JavaScript: the access policy, which cube.js imports, throws one too.
 */

/**
 * @typedef {object} Issue
 * @property {string} code       what kind of problem (`invalid_value`, `unknown_key`, `yaml_alias`, ...)
 * @property {(string|number)[]} path  the field at fault, as keys from the top of the input
 * @property {string} message    what is wrong, in words a user can act on
 * @property {string} [file]     the file the input came from
 * @property {number} [line]     1-based line in that file
 * @property {number} [column]   1-based column in that line
 */

export class UserError extends Error {
  /**
   * @param {string | Issue[]} issues one message, or the issues found (all of them, not the first)
   * @param {{ code?: string, heading?: string }} [options] the code of a single message; a heading above a list
   */
  constructor(issues, options = {}) {
    const list = typeof issues === 'string' ? [{ code: options.code ?? 'invalid', path: [], message: issues }] : issues;
    super(formatIssues(list, options.heading));
    this.name = new.target.name;
    /** @type {Issue[]} */
    this.issues = list;
  }
}

/**
 * `file:line:column path: message`, leaving out what is unknown.
 * @param {Issue} issue
 */
export function formatIssue(issue) {
  const where = issue.file ? [issue.file, issue.line, issue.line !== undefined ? issue.column : undefined].filter((part) => part !== undefined).join(':') : '';
  const path = issue.path.length > 0 ? issue.path.join('.') : '';
  const place = [where, path].filter(Boolean).join(' ');
  return place ? `${place}: ${issue.message}` : issue.message;
}

/**
 * One issue as one line; several under a heading, one per line.
 * @param {Issue[]} issues @param {string} [heading]
 */
export function formatIssues(issues, heading) {
  if (issues.length === 1 && !heading) return formatIssue(/** @type {Issue} */ (issues[0]));
  return `${heading ?? `${issues.length} problems`}:\n${issues.map((issue) => `  ${formatIssue(issue)}`).join('\n')}`;
}
