/**
 * The API's settings that commands other than `serve` need (`token` signs with them):
 * kept apart from api-server.ts so reading them does not import Cube and Express.
 */
import { resolve } from 'node:path';
import type { Config } from '../config.ts';
import { apiSecret } from './api-secret.ts';
import type { JwtSettings } from './jwt-verifier.ts';

export function governanceFile(config: Config): string {
  return resolve(config.projectRoot, config.SEGLAYER_GOVERNANCE_FILE);
}

export function jwtSettings(config: Config): JwtSettings {
  return {
    secret: apiSecret(config),
    algorithm: config.CUBEJS_JWT_ALGS,
    issuer: config.CUBEJS_JWT_ISSUER,
    audience: config.CUBEJS_JWT_AUDIENCE,
    maxTokenAge: config.SEGLAYER_API_MAX_TOKEN_AGE,
  };
}
