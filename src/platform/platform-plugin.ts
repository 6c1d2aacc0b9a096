/** Decorates the app with the platform, closed with the app when `owned`. */
import fp from 'fastify-plugin';
import type { Platform } from './platform.js';

declare module 'fastify' {
  interface FastifyInstance {
    platform: Platform;
  }
}

export const platformPlugin = fp<{ platform: Platform; owned: boolean }>(
  async (app, { platform, owned }) => {
    app.decorate('platform', platform);
    if (owned) app.addHook('onClose', () => platform.close());
  },
  { name: 'strata-platform' },
);
