/**
 * Access tokens of tenant users: HS256 only (pinned), with issuer, audience, expiry and a unique
 * id, signed and verified with fast-jwt, the one JWT library of the API, its scripts and tests.
 */
import { LRUCache } from 'lru-cache';
import { randomUUID } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { z } from 'zod';
import type { Config } from '../config/config.js';

export const userRoles = ['owner', 'admin', 'manager', 'staff'] as const;

/** What a verified access token must carry. */
export const accessClaims = z.object({
  /** The user's id; operators' tokens carry a random one that names no user. */
  sub: z.uuid(),
  tid: z.uuid(),
  role: z.enum(userRoles),
  jti: z.string().min(1),
  exp: z.number(),
  /** The user's version when the token was issued (see user-standing.ts); absent when it names no user. */
  ver: z.number().int().optional(),
  /** RFC 8693 actor: who really acts when an operator minted the token for `sub` (npm run token). */
  act: z.object({ sub: z.string().min(1).max(200) }).optional(),
});
export type AccessClaims = z.infer<typeof accessClaims>;

const verifyOptions = (jwt: Config['jwt']) => ({
  key: jwt.secret,
  algorithms: ['HS256' as const],
  allowedIss: jwt.issuer,
  allowedAud: jwt.audience,
  requiredClaims: ['exp', 'iss', 'aud', 'sub', 'tid', 'role', 'jti'],
});

/** The token of an `Authorization: Bearer <token>` header. */
export const bearerToken = (header: string | undefined) => /^Bearer ([\w.-]+)$/i.exec(header ?? '')?.[1];

/** How long a verified token is remembered at most (it is never remembered past its expiry). */
const rememberMs = 600_000;
/** Tokens remembered at most; beyond that the least recently used is forgotten first. */
const rememberedTokens = 10_000;

/**
 * Verifies access tokens: their checked claims, or null for anything that is not a valid token.
 * Verified tokens are remembered until they expire, at most 10 minutes (verifying was ~10% of the
 * CPU of reading a lead), keyed by the token's exact bytes: fast-jwt's cache hashes the token with
 * SHA-256, two thirds of that cost. Only signature and claims are remembered: the user's standing
 * is checked on every request (user-standing.ts). Failures are not remembered.
 */
export function accessTokenVerifier(jwt: Config['jwt']): (token: string) => AccessClaims | null {
  const verify = createVerifier(verifyOptions(jwt));
  const remembered = new LRUCache<string, AccessClaims>({ max: rememberedTokens });
  return (token) => {
    const hit = remembered.get(token);
    if (hit) return hit;
    let claims: AccessClaims | undefined;
    try {
      claims = accessClaims.safeParse(verify(token)).data;
    } catch {
      return null;
    }
    if (!claims) return null;
    // lru-cache reads a ttl of 0 as "forever": a token at its last millisecond is not remembered.
    const ttl = Math.min(claims.exp * 1000 - Date.now(), rememberMs);
    if (ttl > 0) remembered.set(token, claims, { ttl });
    return claims;
  };
}

export type AccessTokenInput = Pick<AccessClaims, 'sub' | 'tid' | 'role' | 'ver' | 'act'>;

/**
 * Returns a function signing access tokens that expire `ttlSeconds` (default: the configured TTL)
 * after they are issued. fast-jwt reads `expiresIn` in milliseconds.
 */
export function accessTokenSigner(jwt: Config['jwt'], ttlSeconds: number = jwt.ttlSeconds): (claims: AccessTokenInput) => string {
  // fast-jwt treats 0 as "no expiry"; a token without exp is one the API refuses anyway.
  if (!(ttlSeconds > 0)) throw new RangeError('ttlSeconds must be positive');
  const sign = createSigner({ key: jwt.secret, algorithm: 'HS256', iss: jwt.issuer, aud: jwt.audience, expiresIn: ttlSeconds * 1000 });
  return (claims) => sign({ ...claims, jti: randomUUID() });
}

/** Signs one access token outside a running API (scripts, tests). */
export function signAccessToken(jwt: Config['jwt'], claims: AccessTokenInput, ttlSeconds?: number) {
  return accessTokenSigner(jwt, ttlSeconds)(claims);
}
