/**
 * Imports many model files as one module. Each `import()` of a TypeScript file is a
 * round trip to the TypeScript loader's thread plus one transform: at 500 models that
 * was most of `seglayer ls`. Here esbuild bundles the model files into one ES module
 * (everything they import outside models/ stays an import, of the same file as before,
 * so engine modules are shared with the rest of the process), cached by the content
 * of the model files; a project whose files have not changed skips esbuild too.
 *
 * Any failure (a syntax error, a file that throws when evaluated) returns undefined: the
 * caller then imports the files one by one, which names the file, line and column.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Bumped when the bundle's shape changes, so older cached bundles are not reused. */
const BUNDLE_FORMAT = 1;

/** Default exports of `files` (absolute paths), in order; undefined when they cannot be bundled. */
export async function importBundledModels(files: string[]): Promise<unknown[] | undefined> {
  if (files.length === 0) return [];
  const sources = files.map((file) => readFileSync(file, 'utf8'));
  // A bundled file's import.meta would be the bundle's: such files are imported one by one.
  if (sources.some((source) => /\bimport\.meta\b|\b__dirname\b|\b__filename\b/.test(source))) return undefined;
  const { version } = await import('esbuild');
  const hash = createHash('sha256').update(`${BUNDLE_FORMAT}\0${version}\0${process.version}`);
  files.forEach((file, i) => hash.update(`\0${file}\0${sources[i]}`));
  const bundle = join(bundleDir(), `${hash.digest('hex').slice(0, 32)}.mjs`);
  try {
    if (!existsSync(bundle)) writeAtomically(bundle, await bundleOf(files));
    const module = (await import(pathToFileURL(bundle).href)) as { default: { default?: unknown }[] };
    return module.default.map((namespace) => namespace.default);
  } catch {
    return undefined;
  }
}

/** One directory per user, so a shared machine's users do not read each other's bundles. */
function bundleDir(): string {
  const dir = join(tmpdir(), `seglayer-model-bundles-${userInfo().uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function writeAtomically(path: string, text: string): void {
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, path); // concurrent `seglayer` processes never import half a bundle
}

async function bundleOf(files: string[]): Promise<string> {
  const esbuild = await import('esbuild');
  const models = new Set(files);
  const entry = files.map((file, i) => `import * as m${i} from ${JSON.stringify(file)};`).join('\n') + `\nexport default [${files.map((_, i) => `m${i}`).join(', ')}];\n`;
  const result = await esbuild.build({
    stdin: { contents: entry, resolveDir: '/', loader: 'js' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
    plugins: [{
      name: 'only-model-files',
      setup(build) {
        // Every import that is not a model file stays an import, by absolute URL, so the
        // bundle imports the very modules the model files would (and works from any directory).
        build.onResolve({ filter: /^[./]/ }, (args) => {
          if (args.kind === 'entry-point') return undefined;
          const path = resolve(args.resolveDir, args.path);
          return models.has(path) ? { path } : { path: pathToFileURL(path).href, external: true };
        });
        // A package import (rare in a model) is resolved by esbuild as Node would, from the model's folder.
        build.onResolve({ filter: /^[^./]/ }, async (args) => {
          if (args.path.startsWith('node:') || args.pluginData === 'resolving') return undefined;
          const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'resolving' });
          if (found.errors.length) return { errors: found.errors };
          return { path: isAbsolute(found.path) ? pathToFileURL(found.path).href : args.path, external: true };
        });
      },
    }],
  });
  return result.outputFiles[0]!.text;
}
