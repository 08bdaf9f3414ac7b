import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig({}, '/srv/project');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config).toMatchObject({ SEGLAYER_PG_PORT: 0, SEGLAYER_TIMEZONE: 'UTC', homeDir: '/srv/project/.seglayer' });
  });
  it('names each bad variable and what it expects', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://db/x', SEGLAYER_PG_PORT: '70000', SEGLAYER_TIMEZONE: 'Mars/Olympus' })).toThrow(ConfigError);
    try {
      loadConfig({ DATABASE_URL: 'mysql://db/x', SEGLAYER_PG_PORT: '70000', SEGLAYER_TIMEZONE: 'Mars/Olympus' });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('DATABASE_URL="mysql://db/x": expected a postgres:// or postgresql:// connection URL');
      expect(message).toContain('SEGLAYER_PG_PORT="70000": expected a port number 0-65535');
      expect(message).toContain('SEGLAYER_TIMEZONE="Mars/Olympus": expected an IANA time zone');
    }
  });
  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });
});
