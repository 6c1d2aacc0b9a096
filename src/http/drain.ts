/**
 * While the app closes, every response asks its client to close the connection: Fastify does so
 * only for requests arriving during close, and an in-flight keep-alive socket would hold close()
 * for keepAliveTimeout (72 s).
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
