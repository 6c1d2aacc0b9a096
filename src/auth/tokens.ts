/** Tenant users' access tokens: HS256 only (pinned); fast-jwt is the one JWT library. */
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
  /** The user's version at issue; absent for operators. */
  ver: z.number().int().optional(),
  /** RFC 8693 actor: the operator who minted it (npm run token). */
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

/** Remembers valid tokens by exact bytes (fast-jwt's cache hashes them: most of the cost). */
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
    // lru-cache reads a ttl of 0 as "forever".
    const ttl = Math.min(claims.exp * 1000 - Date.now(), rememberMs);
    if (ttl > 0) remembered.set(token, claims, { ttl });
    return claims;
  };
}

export type AccessTokenInput = Pick<AccessClaims, 'sub' | 'tid' | 'role' | 'ver' | 'act'>;

/** fast-jwt reads `expiresIn` in milliseconds. */
export function accessTokenSigner(jwt: Config['jwt'], ttlSeconds: number = jwt.ttlSeconds): (claims: AccessTokenInput) => string {
  // fast-jwt reads 0 as "no expiry".
  if (!(ttlSeconds > 0)) throw new RangeError('ttlSeconds must be positive');
  const sign = createSigner({ key: jwt.secret, algorithm: 'HS256', iss: jwt.issuer, aud: jwt.audience, expiresIn: ttlSeconds * 1000 });
  return (claims) => sign({ ...claims, jti: randomUUID() });
}

export function signAccessToken(jwt: Config['jwt'], claims: AccessTokenInput, ttlSeconds?: number) {
  return accessTokenSigner(jwt, ttlSeconds)(claims);
}
