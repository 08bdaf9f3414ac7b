// Loader hooks of module-recorder.mjs: appends each resolved URL to the log file.
import { appendFileSync } from 'node:fs';

/** @type {string} */
let out = '';
/** @param {{ out: string }} data */
export async function initialize(data) {
  out = data.out;
}
/**
 * @param {string} specifier @param {object} context
 * @param {(specifier: string, context: object) => Promise<{ url: string }>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(out, `import ${resolved.url}\n`);
  return resolved;
}
