/** GET /settings: branding, features and limits for the tenant's front end. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requirePermission } from '../auth/tenant-auth.js';
import { settingsOutput, tenantSettings } from './tenant-config.js';

export const settingsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/settings',
    {
      preHandler: requirePermission('settings.read'),
      schema: { response: { 200: settingsOutput.extend({ tenant: z.object({ id: z.uuid(), slug: z.string(), name: z.string() }) }) } },
    },
    async (request) => {
      const { id, slug, name } = request.tenant;
      return { tenant: { id, slug, name }, ...tenantSettings(request.tenant, app.platform.config.rateLimit.planOverrides) };
    },
  );
};
