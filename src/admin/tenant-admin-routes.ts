import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Tenant } from '../catalog/catalog-client.js';
import { after, page, textCursor } from '../pagination/keyset-cursor.js';
import { tenantSettings } from '../settings/tenant-config.js';
import { tenantUsage } from '../usage/tenant-usage.js';
import {
  tenantCreate,
  tenantCreated,
  tenantDetail,
  tenantListQuery,
  tenantOutput,
  tenantPage,
  tenantParams,
  tenantPatch,
  tenantPurged,
  tenantSuspend,
} from './tenant-admin-schemas.js';
import { changeStatus, createTenant, currentSuspension, findTenant, updateTenant } from './tenant-lifecycle.js';
import { purgeTenant } from './tenant-purge.js';

function toOutput(tenant: Tenant): z.infer<typeof tenantOutput> {
  const { id, slug, name, plan, tier, status, version } = tenant;
  return { id, slug, name, plan, tier, status, version, createdAt: tenant.createdAt.toISOString(), updatedAt: tenant.updatedAt.toISOString() };
}

/** Any slug a tenant may have had (reserved words included: older tenants may hold one). */
const slugPattern = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;

function pageBySlug(rows: Tenant[], limit: number) {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit && items.length ? textCursor.encode(items.at(-1)!.slug) : null };
}

export const tenantAdminRoutes: FastifyPluginAsyncZod = async (app) => {
  const { platform } = app;
  const statusChange = { schema: { params: tenantParams, response: { 200: tenantOutput } } };

  app.post('/admin/tenants', { schema: { body: tenantCreate, response: { 201: tenantCreated } } }, async (request, reply) => {
    const { tenant, owner } = await createTenant(platform, request.admin.id, request.body);
    return reply
      .status(201)
      .header('location', `/admin/tenants/${tenant.id}`)
      .header('cache-control', 'no-store')
      .send({ tenant: toOutput(tenant), owner });
  });

  app.get('/admin/tenants', { schema: { querystring: tenantListQuery, response: { 200: tenantPage } } }, async (request) => {
    const { status, tier, plan, search, server, sort, limit, cursor } = request.query;
    const bySlug = sort === 'slug';
    const rows = await platform.catalog.tenant.findMany({
      where: {
        status,
        tier,
        plan,
        ...(server && { server: { name: server } }),
        AND: [
          search ? { OR: [{ slug: { contains: search, mode: 'insensitive' } }, { name: { contains: search, mode: 'insensitive' } }] } : {},
          bySlug ? (cursor ? { slug: { gt: textCursor.decode(cursor, slugPattern) } } : {}) : after('createdAt', cursor),
        ],
      },
      orderBy: bySlug ? [{ slug: 'asc' }] : [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
    const result = bySlug ? pageBySlug(rows, limit) : page(rows, limit, (t) => t.createdAt);
    return { items: result.items.map(toOutput), nextCursor: result.nextCursor };
  });

  app.get('/admin/tenants/:id', { schema: { params: tenantParams, response: { 200: tenantDetail } } }, async (request) => {
    const tenant = await findTenant(platform, request.params.id);
    const server = await platform.servers.byId(tenant.serverId);
    // This instance's uncounted requests first, so the figures include everything it served.
    await app.requestCounter.flush();
    const servable = tenant.status !== 'deleted' && tenant.status !== 'provisioning';
    return {
      ...toOutput(tenant),
      placement: { server: server.name, host: server.host, port: server.port, schema: tenant.schemaName, database: tenant.databaseName },
      config: tenant.config as Record<string, unknown>,
      settings: tenantSettings(tenant, platform.config.rateLimit.planOverrides),
      suspension: await currentSuspension(platform, tenant),
      usage: servable ? await tenantUsage(platform, tenant) : { requests: { today: 0, last30Days: 0 }, rows: {}, storageBytes: null },
    };
  });

  app.patch('/admin/tenants/:id', { schema: { params: tenantParams, body: tenantPatch, response: { 200: tenantOutput } } }, async (request) =>
    toOutput(await updateTenant(platform, request.admin.id, request.params.id, request.body)),
  );

  app.post('/admin/tenants/:id/suspend', { schema: { ...statusChange.schema, body: tenantSuspend } }, async (request) =>
    toOutput(await changeStatus(platform, request.admin.id, request.params.id, 'suspend', { reason: request.body.reason })),
  );

  app.post('/admin/tenants/:id/reactivate', statusChange, async (request) =>
    toOutput(await changeStatus(platform, request.admin.id, request.params.id, 'reactivate')),
  );

  app.delete('/admin/tenants/:id', statusChange, async (request) => toOutput(await changeStatus(platform, request.admin.id, request.params.id, 'delete')));

  app.post('/admin/tenants/:id/purge', { schema: { params: tenantParams, response: { 200: tenantPurged } } }, async (request) => {
    const { archive, rows } = await purgeTenant(platform, request.admin.id, request.params.id);
    return { purged: request.params.id, archive, rows };
  });
};
