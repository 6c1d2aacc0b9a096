/** The catalog's Prisma client, reached as the owner role, never by tenant code. */
import { PrismaPg } from '@prisma/adapter-pg';
import type { PoolConfig } from 'pg';
import { PrismaClient } from '../generated/catalog/client.js';

export type CatalogClient = PrismaClient;
export type { Tenant, DatabaseServer } from '../generated/catalog/client.js';

export function createCatalogClient(connection: PoolConfig): CatalogClient {
  return new PrismaClient({ adapter: new PrismaPg({ ...connection, max: 5, application_name: 'strata-catalog' }) });
}
