/** Platform admin accounts: staff, not tenant users, so their hashes live in the catalog. */
import { normalizeEmail } from '../auth/login-index.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import type { CatalogClient } from '../catalog/catalog-client.js';
import { type Config, resolveSecret } from '../config/config.js';

export interface AdminIdentity {
  id: string;
  email: string;
}

export async function createAdminAccount(catalog: CatalogClient, input: { email: string; password: string }): Promise<AdminIdentity> {
  const account = await catalog.adminAccount.create({
    data: { email: normalizeEmail(input.email), passwordHash: await hashPassword(input.password) },
  });
  return { id: account.id, email: account.email };
}

/** The environment is the bootstrap admin's source of truth. Safe when instances boot at once. */
export async function ensureBootstrapAdmin(catalog: CatalogClient, config: Pick<Config, 'admin'>): Promise<void> {
  const email = config.admin.email;
  const password = resolveSecret(config.admin.passwordSecretRef);
  const existing = await catalog.adminAccount.findUnique({ where: { email } });
  if (existing && (await verifyPassword(existing.passwordHash, password))) return;
  const passwordHash = await hashPassword(password);
  await catalog.adminAccount.upsert({ where: { email }, create: { email, passwordHash }, update: { passwordHash } }).catch((err: unknown) => {
    // Another instance created it since our read.
    if ((err as { code?: string }).code !== 'P2002') throw err;
  });
}

/** Unknown emails cost what wrong passwords do. */
export async function verifyAdminCredentials(catalog: CatalogClient, email: string, password: string): Promise<AdminIdentity | null> {
  const account = await catalog.adminAccount.findUnique({ where: { email: normalizeEmail(email) } });
  const usable = account && !account.disabledAt ? account : undefined;
  if (!(await verifyPassword(usable?.passwordHash, password))) return null;
  await catalog.adminAccount.update({ where: { id: usable!.id }, data: { lastLoginAt: new Date() } });
  return { id: usable!.id, email: usable!.email };
}

/** Null unless the account still exists and is enabled. */
export async function activeAdmin(catalog: CatalogClient, id: string): Promise<AdminIdentity | null> {
  const account = await catalog.adminAccount.findUnique({ where: { id }, select: { id: true, email: true, disabledAt: true } });
  return account && !account.disabledAt ? { id: account.id, email: account.email } : null;
}
