/** Signed tokens for local use (`seglayer token`, `npm start`, tests, benchmarks). */
import { SignJWT } from 'jose';
import type { JwtSettings } from './jwt-verifier.ts';

export interface MintOptions {
  claims: Record<string, unknown>;
  /** Lifetime, e.g. '1h', '7d' (jose's time span syntax). */
  expiresIn?: string;
}

export async function mintToken(settings: JwtSettings, { claims, expiresIn = '24h' }: MintOptions): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: settings.algorithm, typ: 'JWT' }).setIssuedAt().setExpirationTime(expiresIn);
  if (settings.issuer) jwt = jwt.setIssuer(settings.issuer);
  if (settings.audience) jwt = jwt.setAudience(settings.audience);
  return jwt.sign(new TextEncoder().encode(settings.secret));
}
