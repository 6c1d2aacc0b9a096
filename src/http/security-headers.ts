/** On every answer: no caching (bar the docs' assets), no sniffing, no framing (clickjacking). */
import type { FastifyInstance } from 'fastify';
import { docsPrefix } from '../docs/docs-plugin.js';

const always = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
} as const;
export const apiHeaders = { ...always, 'cache-control': 'no-store' } as const;

const staticAssets = `${docsPrefix}/static/`;

export function installSecurityHeaders(app: FastifyInstance) {
  // onRequest, so any later answer (401, 404, 429) has them; routes may set Cache-Control.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.url.startsWith(staticAssets) ? always : apiHeaders);
    done();
  });
}
