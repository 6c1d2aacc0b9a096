/** Shared test plumbing of the CRM resources: an HTTP client for one resource, and problem checks. */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { bearer } from '../helper.js';

type Headers = Record<string, string>;

/** Requests to `path` (e.g. `/leads`) with `token`. */
export function resourceClient<T extends { id: string }>(app: FastifyInstance, token: string, path: string) {
  const auth = bearer(token);
  const call = (method: InjectOptions['method'], url: string, payload?: InjectOptions['payload'], headers: Headers = {}) =>
    app.inject({ method, url, payload, headers: { ...auth, ...headers } });
  const api = {
    call,
    get: (url: string, headers?: Headers) => call('GET', url, undefined, headers),
    post: (body: InjectOptions['payload'], headers?: Headers) => call('POST', path, body, headers),
    patch: (id: string, body: InjectOptions['payload'], headers?: Headers) => call('PATCH', `${path}/${id}`, body, headers),
    delete: (id: string, headers?: Headers) => call('DELETE', `${path}/${id}`, undefined, headers),
    /** Every page of a listing, following nextCursor until it is null. */
    async pages(query: string): Promise<T[][]> {
      const pages: T[][] = [];
      let cursor: string | null = null;
      do {
        const res = await api.get(`${path}?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        if (res.statusCode !== 200) throw new Error(`listing failed: ${res.statusCode} ${res.payload}`);
        const page: { items: T[]; nextCursor: string | null } = res.json();
        pages.push(page.items);
        cursor = page.nextCursor;
        if (pages.length > 50) throw new Error('pagination does not end');
      } while (cursor);
      return pages;
    },
    async ids(query = 'limit=100') {
      return (await api.pages(query)).flat().map((row) => row.id);
    },
    /** Creates one record; the test fails loudly if the API refuses. */
    async created(body: InjectOptions['payload']): Promise<T> {
      const res = await api.post(body);
      if (res.statusCode !== 201) throw new Error(`creating in ${path} failed: ${res.statusCode} ${res.payload}`);
      return res.json();
    },
  };
  return api;
}

/** Asserts a problem+json answer with `status` and `code`, and no stack; returns the body. */
export function problem(t: Test, res: LightMyRequestResponse, status: number, code: string, label = code) {
  t.equal(res.statusCode, status, `${label}: answers ${status}`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${label}: as problem+json`);
  const body = res.json();
  t.equal(body.status, status, `${label}: status in the body`);
  t.equal(body.code, code, `${label}: code`);
  t.notOk('stack' in body, `${label}: no stack`);
  return body;
}
