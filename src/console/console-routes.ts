/**
 * The operator console (src/console/ui/, built by `npm run build` into dist/console-assets/):
 * GET /console serves its page, /console/assets/* its bundle. The page holds no data or secret;
 * all it shows comes from the admin API with the operator's token. Its CSP allows only this
 * origin's script, style and requests: no inline script or style, no framing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, problems } from '../http/problems.js';

/** Resolves to <repository>/dist/console-assets from src/console/ and from dist/console/ alike. */
export const consoleAssetsDir = new URL('../../dist/console-assets/', import.meta.url);

export const consoleCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const pageHeaders = {
  'content-security-policy': consoleCsp,
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
} as const;

const mediaTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** Every built file, read once: the bundle is small and never changes while the process runs. */
function readAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let names: string[];
  try {
    names = readdirSync(consoleAssetsDir);
  } catch {
    return assets;
  }
  for (const name of names) {
    const type = mediaTypes[name.slice(name.lastIndexOf('.'))];
    if (!type) continue;
    const body = readFileSync(new URL(name, consoleAssetsDir));
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

const assetParams = z.object({ file: z.string().regex(/^[\w.-]{1,100}$/) });

export const consoleRoutes: FastifyPluginAsyncZod = async (app) => {
  const assets = readAssets();
  const notBuilt = () => new AppError(problems.unavailable, 'The console is not built: run `npm run build`');

  app.get('/console', { schema: { description: 'The operator console (an HTML page; sign in with an admin account).' } }, async (_request, reply) => {
    const page = assets.get('index.html');
    if (!page) throw notBuilt();
    return reply.headers(pageHeaders).type(page.type).send(page.body);
  });

  app.get('/console/assets/:file', { schema: { params: assetParams, description: 'A file of the console’s bundle.' } }, async (request, reply) => {
    const asset = request.params.file === 'index.html' ? undefined : assets.get(request.params.file);
    if (!asset) throw new AppError(problems.notFound, 'No such console file');
    // Bundle names carry a hash of their content: a new build is a new name.
    reply.headers({ ...pageHeaders, etag: asset.etag, 'cache-control': 'public, max-age=31536000, immutable' });
    if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
    return reply.type(asset.type).send(asset.body);
  });
};
