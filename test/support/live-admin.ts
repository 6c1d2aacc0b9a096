/**
 * A listening API (./live-api.ts) with what admin tests add: the bootstrap admin's login through
 * POST /admin/auth/login, and raw calls for archives (binary bodies both ways).
 */
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Platform } from '../../src/platform/platform.js';
import { liveApi, type LiveApi } from './live-api.js';
import { testSecrets } from './test-secrets.js';

export interface LiveAdmin {
  api: LiveApi;
  /** fetch against the listening API, the body sent as it is. */
  raw(method: string, path: string, options?: { token?: string; body?: Buffer; type?: string }): Promise<Response>;
  /** The bootstrap admin's access token, from its login with the tests' password. */
  adminLogin(): Promise<string>;
}

export async function liveAdmin(t: Test, platform: Platform): Promise<LiveAdmin> {
  const app = await buildApp({ config: platform.config, platform });
  const api = await liveApi(t, app);
  const { port } = app.server.address() as { port: number };
  return {
    api,
    raw: (method, path, { token, body, type } = {}) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: { ...(token && { authorization: `Bearer ${token}` }), ...(type && { 'content-type': type }) },
        body,
      }),
    async adminLogin() {
      const res = await api('POST', '/admin/auth/login', { body: { email: platform.config.admin.email, password: testSecrets.STRATA_ADMIN_PASSWORD } });
      if (res.status !== 200) throw new Error(`admin login: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.accessToken as string;
    },
  };
}
