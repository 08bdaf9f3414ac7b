/**
 * Errors a new user meets in the first hour read as one line with the place and the fix:
 * a model file's syntax error at the compiler's file:line:column, a missing required field
 * with why it is required, a mistyped ref or model name with the nearest one, and a
 * warehouse that cannot be reached named by its setting, password hidden, cause in words.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConnection, describeConnectionError, hidePassword } from '../../src/database/connection-check.ts';
import { nearestName } from '../../src/errors/nearest-name.ts';

const root = join(import.meta.dirname, '../..');
const define = join(root, 'src/models/model-definition.ts');

function cli(args: string[], env: Record<string, string>) {
  const run = spawnSync(process.execPath, [join(root, 'scripts/seglayer.mjs'), ...args], { cwd: root, env: { ...process.env, DATABASE_URL: '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: run.stdout + run.stderr };
}

function modelsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'seglayer-bad-models-'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
const model = (name: string, body: string) => `import { defineModel } from '${define}';\nexport default defineModel({ name: '${name}', ${body} });\n`;
const complete = `description: 'x', owner: 't', columns: { id: { description: 'id' } }`;
const noSegments = join(tmpdir(), 'seglayer-no-segments-here');

describe('model files', () => {
  it('a syntax error shows the compiler\'s line, column and message; a missing owner says why it is required', () => {
    const dir = modelsDir({
      'core/broken.ts': `import { defineModel } from '${define}';\nexport default defineModel({\n  name: 'core.broken',\n  build: (knex) => knex.raw(\`select 1\`,\n});\n`,
      'core/no_owner.ts': model('core.no_owner', `description: 'x', columns: { id: { description: 'id' } }, build: (knex) => knex.raw('select 1 as id')`),
    });
    const { status, output } = cli(['ls'], { SEGLAYER_MODELS_DIR: dir, SEGLAYER_SEGMENTS_DIR: noSegments });
    expect(status).toBe(1);
    expect(output).toMatch(/core\/broken\.ts:5:1: cannot be loaded: Unexpected "}"/);
    expect(output).toMatch(/core\/no_owner\.ts owner: required: who answers for the model when a test fails/);
    expect(output).not.toContain('Transform failed');
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('a mistyped ref and a mistyped model name suggest the nearest model', () => {
    const dir = modelsDir({
      'staging/stg_things.ts': model('staging.stg_things', `${complete}, build: (knex) => knex.raw('select 1 as id')`),
      'core/reader.ts': model('core.reader', `${complete}, build: (knex, { ref }) => knex.raw(\`select id from \${ref('staging.stg_thing')}\`)`),
    });
    const env = { SEGLAYER_MODELS_DIR: dir, SEGLAYER_SEGMENTS_DIR: noSegments };
    expect(cli(['ls'], env).output).toContain('core.reader refers to "staging.stg_thing", which is no model (and not a raw.* or ops.* source); did you mean "staging.stg_things"?');
    const fixed = modelsDir({ 'staging/stg_things.ts': model('staging.stg_things', `${complete}, build: (knex) => knex.raw('select 1 as id')`) });
    const run = cli(['ls', 'stg_thing'], { ...env, SEGLAYER_MODELS_DIR: fixed });
    expect(run.status).toBe(1);
    expect(run.output).toContain('no model matches "stg_thing"; did you mean "staging.stg_things"?');
    const compile = cli(['compile', 'stg_thing'], { ...env, SEGLAYER_MODELS_DIR: fixed });
    expect(compile.output.trim()).toBe('error: no model named "stg_thing"; did you mean "staging.stg_things"?');
  });
});

describe('nearestName', () => {
  const known = ['core.fct_outcomes', 'core.dim_users', 'staging.stg_events'];
  it('finds a near name, qualified or not, and nothing for a far one', () => {
    expect(nearestName('core.fct_outcome', known)).toBe('core.fct_outcomes');
    expect(nearestName('dim_user', known)).toBe('core.dim_users');
    expect(nearestName('core.revenue', known)).toBeUndefined();
  });
});

describe('warehouse connections', () => {
  it('a closed port: the setting named, the password hidden, the cause in words, once', async () => {
    const url = 'postgres://analyst:s3cret-pw@127.0.0.1:1/warehouse';
    const attempt = checkConnection(url);
    await expect(attempt).rejects.toThrow('cannot connect to DATABASE_URL postgres://analyst:***@127.0.0.1:1/warehouse: nothing accepts connections on 127.0.0.1:1 (connection refused): is PostgreSQL running there?');
    const { status, output } = cli(['migrate'], { DATABASE_URL: url });
    expect(status).toBe(1);
    expect(output.trim().split('\n')).toEqual(['error: cannot connect to DATABASE_URL postgres://analyst:***@127.0.0.1:1/warehouse: nothing accepts connections on 127.0.0.1:1 (connection refused): is PostgreSQL running there?']);
    expect(output).not.toContain('s3cret-pw');
  });

  it('describes authentication and missing-database failures by their SQLSTATE', () => {
    const url = 'postgres://analyst:pw@db.example:6543/shop';
    expect(describeConnectionError({ code: '28P01', message: 'password authentication failed for user "analyst"' }, url)).toBe('cannot connect to DATABASE_URL postgres://analyst:***@db.example:6543/shop: password authentication failed for user "analyst"');
    expect(describeConnectionError({ code: '3D000', message: 'database "shop" does not exist' }, url)).toBe('cannot connect to DATABASE_URL postgres://analyst:***@db.example:6543/shop: the database "shop" does not exist on that server');
    expect(describeConnectionError(new Error('relation "x" does not exist'), url)).toBeUndefined();
    expect(hidePassword('not a url:pw@host')).toBe('not a url:***@host');
  });
});
