/**
 * Access tokens of tenant users: HS256 only (pinned), with issuer, audience, expiry and a unique
 * id. The same options serve @fastify/jwt in the API and the operators' token-minting script.
 */
import { randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';
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
});
export type AccessClaims = z.infer<typeof accessClaims>;

export function jwtOptions(jwt: Config['jwt']) {
  return {
    secret: jwt.secret,
    sign: { algorithm: 'HS256' as const, iss: jwt.issuer, aud: jwt.audience, expiresIn: jwt.ttlSeconds * 1000 },
    verify: {
      algorithms: ['HS256' as const],
      allowedIss: jwt.issuer,
      allowedAud: jwt.audience,
      requiredClaims: ['exp', 'iss', 'aud', 'sub', 'tid', 'role', 'jti'],
    },
  };
}

/** Signs an access token outside a running API (scripts, tests). */
export function signAccessToken(jwt: Config['jwt'], claims: { sub: string; tid: string; role: AccessClaims['role'] }, ttlSeconds?: number) {
  const { secret, sign } = jwtOptions(jwt);
  const ttl = ttlSeconds ?? jwt.ttlSeconds;
  // fast-jwt treats 0 as "no expiry"; a token without exp is one the API refuses anyway.
  if (!(ttl > 0)) throw new RangeError('ttlSeconds must be positive');
  const signer = createSigner({
    key: secret,
    algorithm: sign.algorithm,
    iss: sign.iss,
    aud: sign.aud,
    expiresIn: ttl * 1000,
  });
  return signer({ ...claims, jti: randomUUID() });
}
