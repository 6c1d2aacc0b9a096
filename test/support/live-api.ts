/**
 * A test app listening on a loopback port, driven with fetch as a client would: JSON in, the
 * status and parsed body out.
 */
import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';

export interface LiveResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the tests
  body: any;
}

export type LiveApi = (method: string, path: string, options?: { body?: unknown; token?: string; headers?: Record<string, string> }) => Promise<LiveResponse>;

export async function liveApi(t: Test, app: FastifyInstance): Promise<LiveApi> {
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return async (method, path, { body, token, headers = {} } = {}) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(token && { authorization: `Bearer ${token}` }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  };
}

/** The claims of a JWT, decoded without verifying it (the API under test verifies). */
export function decodeClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}
