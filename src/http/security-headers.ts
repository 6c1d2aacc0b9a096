/**
 * Headers every answer carries, errors included: nothing is cached (tokens, archives and tenant
 * data must not stay in caches; the docs' assets may), no sniffing, no framing (clickjacking of /docs).
 */
import type { FastifyInstance } from 'fastify';
import { docsPrefix } from '../docs/docs-plugin.js';

const always = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
} as const;
export const apiHeaders = { ...always, 'cache-control': 'no-store' } as const;

/** Where @fastify/swagger-ui serves its static files. */
const staticAssets = `${docsPrefix}/static/`;

export function installSecurityHeaders(app: FastifyInstance) {
  // onRequest, so an answer from any later step (a refused token, a 404, a 429) has them; a route
  // may still set its own Cache-Control. Callback style: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.url.startsWith(staticAssets) ? always : apiHeaders);
    done();
  });
}
