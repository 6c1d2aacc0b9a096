/** Access tokens of tenant users: HS256 only (pinned); fast-jwt is the project's one JWT library. */
import { LRUCache } from 'lru-cache';
import { randomUUID } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { z } from 'zod';
import type { Config } from '../config/config.js';

export const userRoles = ['owner', 'admin', 'manager', 'staff'] as const;

export const accessClaims = z.object({
  /** Operators' tokens carry a random one that names no user. */
  sub: z.uuid(),
  tid: z.uuid(),
  role: z.enum(userRoles),
  jti: z.string().min(1),
  exp: z.number(),
  /** The user's version at issue (user-standing.ts); absent when `sub` names no user. */
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

export const bearerToken = (header: string | undefined) => /^Bearer ([\w.-]+)$/i.exec(header ?? '')?.[1];

const rememberMs = 600_000;
const rememberedTokens = 10_000;

/**
 * The checked claims, or null. Valid tokens are remembered by their exact bytes (fast-jwt's cache
 * hashes them, most of the cost); the user's standing is checked on every request (user-standing.ts).
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

/** Signs tokens expiring `ttlSeconds` after issue. fast-jwt reads `expiresIn` in milliseconds. */
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
