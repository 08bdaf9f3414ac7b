import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { readCubeSettings } from '../../src/serve/cube-settings.js';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig({}, '/srv/project');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config).toMatchObject({ SEGLAYER_PG_PORT: 54329, SEGLAYER_TIMEZONE: 'UTC', homeDir: '/srv/project/.seglayer' });
  });
  it('names each bad variable and what it expects', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://db/x', SEGLAYER_PG_PORT: '70000', SEGLAYER_TIMEZONE: 'Mars/Olympus' })).toThrow(ConfigError);
    try {
      loadConfig({ DATABASE_URL: 'mysql://db/x', SEGLAYER_PG_PORT: '70000', SEGLAYER_TIMEZONE: 'Mars/Olympus' });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('DATABASE_URL: expected a postgres:// or postgresql:// connection URL (it is "mysql://db/x")');
      expect(message).toContain('SEGLAYER_PG_PORT: expected a port number 0-65535 (it is "70000")');
      expect(message).toContain('SEGLAYER_TIMEZONE: expected an IANA time zone');
    }
  });
  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });
  it('validates what cube.js reads with the rest, and cube.js reads the same schema', () => {
    const bad = { SEGLAYER_REFRESH_SECONDS: 'soon', CUBEJS_PG_SQL_PORT: '0', SEGLAYER_SQL_CLAIMS: 'analyst' };
    expect(() => loadConfig(bad, '/srv/project')).toThrow(/SEGLAYER_REFRESH_SECONDS: expected a whole number of seconds \(it is "soon"\)/);
    expect(() => loadConfig(bad, '/srv/project')).toThrow(/CUBEJS_PG_SQL_PORT: expected a port number 1-65535 \(it is "0"\)/);
    expect(() => loadConfig(bad, '/srv/project')).toThrow(/SEGLAYER_SQL_CLAIMS: expected a JSON object .* \(it is "analyst"\)/);
    expect(() => readCubeSettings(bad)).toThrow(/SEGLAYER_REFRESH_SECONDS: expected a whole number of seconds/);
    expect(() => readCubeSettings({ SEGLAYER_DISPLAY_CURRENCY: 'pounds' })).toThrow(/SEGLAYER_DISPLAY_CURRENCY: expected an ISO currency code such as GBP/);
    const config = loadConfig({ SEGLAYER_REFRESH_SECONDS: '0', SEGLAYER_SQL_CLAIMS: '{"role":"analyst","region":"CA"}' }, '/srv/project');
    expect(config).toMatchObject({ SEGLAYER_REFRESH_SECONDS: 0, SEGLAYER_SQL_CLAIMS: { role: 'analyst', region: 'CA' }, CUBEJS_PRE_AGGREGATIONS_SCHEMA: 'cube_rollups' });
    expect(readCubeSettings({})).toEqual({ SEGLAYER_GOVERNANCE_FILE: 'governance.yml', CUBEJS_PRE_AGGREGATIONS_SCHEMA: 'cube_rollups', SEGLAYER_REFRESH_SECONDS: 60, SEGLAYER_SQL_CLAIMS: {}, SEGLAYER_DISPLAY_CURRENCY: 'USD' });
  });

  it('is the one reader of the environment: nothing else under src/ or cube.js reads process.env but Cube\'s own switches', () => {
    const root = join(import.meta.dirname, '../..');
    const files = [join(root, 'cube.js'), ...readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.[jt]s$/.test(f)).map((f) => join(root, 'src', f))];
    // Allowed: config.ts; Cube's own variables set around its construction; the environment a child process inherits; NO_COLOR.
    const allowed = /process\.env\.(CUBEJS_EXTERNAL_DEFAULT|NODE_ENV|NO_COLOR)\b|\{ \.\.\.process\.env|readCubeSettings\(process\.env\)/;
    const offenders = files.filter((file) => !file.endsWith('src/config.ts')).flatMap((file) =>
      readFileSync(file, 'utf8').split('\n').map((line, i) => ({ file, line: i + 1, text: line }))
        .filter(({ text }) => /process\.env/.test(text) && !allowed.test(text) && !/^\s*(\*|\/\/)/.test(text)));
    expect(offenders.map(({ file, line, text }) => `${file.slice(root.length + 1)}:${line}: ${text.trim()}`)).toEqual([]);
  });
});
