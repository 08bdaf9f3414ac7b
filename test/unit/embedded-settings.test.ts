/** The embedded server's settings follow the machine's memory within bounds (src/database/embedded-settings.ts). */
import { describe, expect, it } from 'vitest';
import { embeddedServerSettings } from '../../src/database/embedded-settings.ts';

const GB = 1024 ** 3;
const settingsOf = (memory: number) => Object.fromEntries(embeddedServerSettings(memory).map((s) => s.split('=') as [string, string]));

describe('embedded server settings', () => {
  it('gives a 24 GB machine a quarter of it as shared buffers and half as the assumed cache', () => {
    expect(settingsOf(24 * GB)).toEqual({ shared_buffers: '6144MB', effective_cache_size: '12288MB', maintenance_work_mem: '768MB', max_wal_size: '4GB' });
  });

  it('never goes below PostgreSQL\'s own defaults on a small machine, nor past the caps on a big one', () => {
    expect(settingsOf(256 * 1024 ** 2)).toMatchObject({ shared_buffers: '128MB', effective_cache_size: '512MB', maintenance_work_mem: '64MB' });
    expect(settingsOf(512 * GB)).toMatchObject({ shared_buffers: '8192MB', effective_cache_size: '65536MB', maintenance_work_mem: '1024MB' });
  });
});
