/**
 * While the app closes, every response asks its client to close the connection. Fastify does so
 * for requests arriving during close, not for those already in flight: their keep-alive socket
 * would keep close() waiting for keepAliveTimeout (72 s) after the last response.
 */
import fp from 'fastify-plugin';

export const drainPlugin = fp(
  async (app) => {
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onSend', (request, reply, payload, done) => {
      if (closing && request.raw.httpVersionMajor < 2) reply.header('connection', 'close');
      done(null, payload);
    });
  },
  { name: 'strata-drain' },
);
