/**
 * Strict verification of API tokens: one pinned algorithm, `exp` and `iat` required, a
 * maximum age from `iat` (a leaked long-lived token stops working), `iat` in the future
 * refused, `iss` and `aud` checked when configured. Anything else is a TokenRejected with a reason that
 * is safe to show the caller.
 */
import { errors, jwtVerify, type JWTPayload } from 'jose';

export interface JwtSettings {
  secret: string;
  algorithm: 'HS256' | 'HS384' | 'HS512';
  issuer?: string;
  audience?: string;
  /** Oldest token accepted, from its `iat` (a jose time span such as '7d'). */
  maxTokenAge: string;
}

/** Clock difference tolerated between the minting machine and this one. */
const CLOCK_TOLERANCE_SECONDS = 5;

export class TokenRejected extends Error {
  override name = 'TokenRejected';
}

/** The token from `Authorization: Bearer <jwt>` or Cube's bare `Authorization: <jwt>`. */
export function tokenFromHeader(header: string | undefined): string {
  if (!header) throw new TokenRejected('missing Authorization header (expected "Bearer <token>")');
  const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : header.trim();
  if (!/^[\w-]+\.[\w-]*\.[\w-]*$/.test(token)) throw new TokenRejected('Authorization header does not hold a JWT');
  return token;
}

export function createJwtVerifier(settings: JwtSettings): (token: string) => Promise<JWTPayload> {
  // Imported once: given the secret's bytes, jose imports a WebCrypto key on every verify
  // (about 3x the CPU of the verify itself, seen in the API's profile).
  const key = crypto.subtle.importKey('raw', new TextEncoder().encode(settings.secret), { name: 'HMAC', hash: `SHA-${settings.algorithm.slice(2)}` }, false, ['verify']);
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, await key, {
        algorithms: [settings.algorithm],
        requiredClaims: ['exp', 'iat'],
        maxTokenAge: settings.maxTokenAge,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        issuer: settings.issuer,
        audience: settings.audience,
      });
      return payload;
    } catch (error) {
      throw new TokenRejected(describe(error));
    }
  };
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return error.claim === 'iat' ? 'token is older than the maximum token age; mint a new one' : 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'iat' && error.reason === 'check_failed') return 'token claim "iat" is in the future';
  if (error instanceof errors.JWTClaimValidationFailed) return `token claim "${error.claim}" ${error.reason === 'missing' ? 'is missing' : 'is not accepted'}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not accepted';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'token is malformed';
  return 'token not accepted';
}
