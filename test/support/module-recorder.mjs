// Preloaded with `node --import` to record a process's module graph into the file named by
// SEGLAYER_MODULE_LOG: every ESM resolution (a resolve hook, run on the loader thread) and,
// at exit, every CommonJS module in require's cache (Cube's packages are CommonJS, loaded
// with createRequire, which ESM hooks do not see on Node 20).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.SEGLAYER_MODULE_LOG;
if (out) {
  register('./module-recorder-hooks.mjs', import.meta.url, { data: { out } });
  process.on('exit', () => {
    const cache = createRequire(import.meta.url).cache;
    appendFileSync(out, Object.keys(cache).map((path) => `require ${path}\n`).join(''));
  });
}
