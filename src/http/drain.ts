/**
 * While closing, responses ask clients to close the connection: Fastify does so only for requests
 * arriving then, and a keep-alive socket would hold close() for keepAliveTimeout.
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
