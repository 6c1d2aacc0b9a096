import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { loginOrigin } from '../auth/login-origin.js';
import { AppError, problems } from '../http/problems.js';
import { verifyAdminCredentials } from './admin-accounts.js';
import { recordAdminAction } from './admin-audit.js';
import { signAdminToken } from './admin-tokens.js';

const loginBody = z.object({ email: z.email().max(320), password: z.string().min(1).max(1024) }).strict();
const adminToken = z.object({ accessToken: z.string(), tokenType: z.literal('Bearer'), expiresIn: z.number().int() });

export const adminAuthRoutes: FastifyPluginAsyncZod = async (app) => {
  const { catalog, config } = app.platform;

  app.post('/admin/auth/login', { schema: { body: loginBody, response: { 200: adminToken } } }, async (request) => {
    const admin = await verifyAdminCredentials(catalog, request.body.email, request.body.password);
    if (!admin) {
      // Failed attempts are part of the trail (guessing shows up there), without the password.
      await recordAdminAction(catalog, { adminId: null, action: 'admin.login-failed', details: { email: request.body.email, ...loginOrigin(request) } });
      throw new AppError(problems.invalidCredentials, 'Email or password is wrong');
    }
    await recordAdminAction(catalog, { adminId: admin.id, action: 'admin.login', details: loginOrigin(request) });
    return { accessToken: signAdminToken(config.jwt, admin), tokenType: 'Bearer' as const, expiresIn: config.jwt.ttlSeconds };
  });
};
