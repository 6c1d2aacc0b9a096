/** The API as a client sees it: a listening server, fetch, JSON bodies, bearer tokens. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { testSecrets } from './test-secrets.js';

export interface Answer {
  status: number;
  contentType: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked by the tests
  json: any;
}

export type Call = (method: string, path: string, options?: { body?: unknown; raw?: string; token?: string }) => Promise<Answer>;

/** Listens on a free local port (the app is closed by its own teardown) and returns a client of it. */
export async function frontDoor(app: FastifyInstance): Promise<Call> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return async (method, path, { body, raw, token } = {}) => {
    const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const res = await fetch(base + path, {
      method,
      headers: { ...(payload !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
      body: payload,
    });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get('content-type'), json: text ? JSON.parse(text) : undefined };
  };
}

/** Logs in as the bootstrap platform admin (the development credentials of every test installation). */
export async function adminLogin(call: Call): Promise<string> {
  const res = await call('POST', '/admin/auth/login', { body: { email: 'admin@strata.local', password: testSecrets.STRATA_ADMIN_PASSWORD } });
  if (res.status !== 200) throw new Error(`admin login: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.accessToken;
}
