/**
 * The embedded PostgreSQL listens on a stable port (SEGLAYER_PG_PORT), so a saved psql or
 * BI connection keeps working across starts; only when that port is taken does it use a
 * free one, and it says which port was wanted.
 */
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startEmbeddedPostgres, stopEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';

const home = mkdtempSync(join(tmpdir(), 'seglayer-port-'));
const dataDir = join(home, 'pg');
afterAll(async () => {
  await stopEmbeddedPostgres(dataDir).catch(() => {});
  rmSync(home, { recursive: true, force: true });
});

describe('the embedded server port', () => {
  it('is the one asked for when free, and a free one (said) when it is taken', async () => {
    const wanted = await freePort();
    const first = await startEmbeddedPostgres({ dataDir, port: wanted });
    expect(first.port).toBe(wanted);
    expect(first.portTaken).toBeUndefined();
    await first.stop();

    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(wanted, '127.0.0.1', resolve));
    try {
      const second = await startEmbeddedPostgres({ dataDir, port: wanted });
      expect(second.portTaken).toBe(wanted);
      expect(second.port).not.toBe(wanted);
      await second.stop();
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
