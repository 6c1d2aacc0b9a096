/**
 * Refresh tokens: random, stored as SHA-256 hashes in the tenant's tier, rotated on each use. A
 * rotated token presented again means two holders, so its whole family is revoked.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { TenantClient } from '../router/tenant-router.js';
import { uuidPattern } from '../tenants/placement.js';

const ttlMs = 30 * 24 * 3600 * 1000;

export class RefreshRejectedError extends Error {
  constructor(readonly reason: 'unknown' | 'expired' | 'revoked' | 'reused') {
    super(`refresh token ${reason}`);
    this.name = 'RefreshRejectedError';
  }
}

const digest = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** `rt.<tenant id>.<secret>`: the tenant id routes the lookup. */
export function parseRefreshToken(token: string): { tenantId: string; secret: string } | undefined {
  const [prefix, tenantId, secret, ...rest] = token.split('.');
  if (prefix !== 'rt' || rest.length || !tenantId || !uuidPattern.test(tenantId) || !secret || !/^[A-Za-z0-9_-]{43}$/.test(secret)) {
    return undefined;
  }
  return { tenantId, secret };
}

export async function issueRefreshToken(db: TenantClient, tenantId: string, userId: string, familyId: string = randomUUID()) {
  const secret = randomBytes(32).toString('base64url');
  await db.refreshToken.create({ data: { userId, familyId, tokenHash: digest(secret), expiresAt: new Date(Date.now() + ttlMs) } });
  return `rt.${tenantId}.${secret}`;
}

export async function rotateRefreshToken(db: TenantClient, tenantId: string, secret: string) {
  const current = await db.refreshToken.findFirst({ where: { tokenHash: digest(secret) } });
  if (!current) throw new RefreshRejectedError('unknown');
  if (current.revokedAt) throw new RefreshRejectedError('revoked');
  if (current.replacedAt) {
    await revokeFamily(db, current.familyId);
    throw new RefreshRejectedError('reused');
  }
  if (current.expiresAt.getTime() <= Date.now()) throw new RefreshRejectedError('expired');
  // Two concurrent refreshes with one token: exactly one wins this update; the other is a reuse.
  const { count } = await db.refreshToken.updateMany({
    where: { id: current.id, replacedAt: null, revokedAt: null },
    data: { replacedAt: new Date() },
  });
  if (count === 0) {
    await revokeFamily(db, current.familyId);
    throw new RefreshRejectedError('reused');
  }
  return { userId: current.userId, token: await issueRefreshToken(db, tenantId, current.userId, current.familyId) };
}

/** Checks `secret` without rotating it. */
export async function isCurrentRefreshToken(db: TenantClient, secret: string): Promise<boolean> {
  const current = await db.refreshToken.findFirst({
    where: { tokenHash: digest(secret), replacedAt: null, revokedAt: null, expiresAt: { gt: new Date() } },
    select: { id: true },
  });
  return current !== null;
}

export async function revokeFamily(db: TenantClient, familyId: string) {
  await db.refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: new Date() } });
}

export async function revokeByToken(db: TenantClient, secret: string) {
  const token = await db.refreshToken.findFirst({ where: { tokenHash: digest(secret) }, select: { familyId: true } });
  if (token) await revokeFamily(db, token.familyId);
}

export async function revokeUserTokens(db: TenantClient, userId: string) {
  await db.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } });
}
