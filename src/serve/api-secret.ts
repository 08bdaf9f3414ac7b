/**
 * The secret that signs API tokens: CUBEJS_API_SECRET when set, else one created once
 * for this machine under SEGLAYER_HOME (mode 600), so local tokens survive restarts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';

export function apiSecret(config: Config): string {
  if (config.CUBEJS_API_SECRET) return config.CUBEJS_API_SECRET;
  const file = join(config.homeDir, 'api-secret');
  if (!existsSync(file)) {
    mkdirSync(config.homeDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}
