/**
 * Platform admins' access tokens: HS256 with their own audience AND key (derived from JWT_SECRET),
 * so tenant and admin tokens never pass for each other, even with misconfigured audiences.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { z } from 'zod';
import type { Config } from '../config/config.js';
import type { AdminIdentity } from './admin-accounts.js';

const adminClaims = z.object({ sub: z.uuid(), email: z.string(), jti: z.string().min(1), exp: z.number() });

const adminKey = (secret: string) => createHmac('sha256', secret).update('strata-admin-access-tokens').digest();

export function signAdminToken(jwt: Config['jwt'], admin: AdminIdentity): string {
  const signer = createSigner({
    key: adminKey(jwt.secret),
    algorithm: 'HS256',
    iss: jwt.issuer,
    aud: jwt.adminAudience,
    expiresIn: jwt.ttlSeconds * 1000,
  });
  return signer({ sub: admin.id, email: admin.email, jti: randomUUID() });
}

export function adminTokenVerifier(jwt: Config['jwt']): (token: string) => { id: string } | null {
  const verify = createVerifier({
    key: adminKey(jwt.secret),
    algorithms: ['HS256'],
    allowedIss: jwt.issuer,
    allowedAud: jwt.adminAudience,
    requiredClaims: ['exp', 'iss', 'aud', 'sub', 'jti'],
  });
  return (token) => {
    try {
      const claims = adminClaims.safeParse(verify(token));
      return claims.success ? { id: claims.data.sub } : null;
    } catch {
      return null;
    }
  };
}
