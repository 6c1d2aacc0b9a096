/**
 * Regression (found by `npm run attack`, API8): requests Node's HTTP parser refuses (TRACK, a 20 KiB
 * URL) were answered with Fastify's bare JSON, without nosniff, framing or cache headers.
 * They are problem+json with the headers of every other answer.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { startTestPlatform } from '../helper.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const app = await buildApp({ config: platform.config, platform });
t.teardown(() => app.close());
await app.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.server.address() as { port: number };

/** Sends `request` as raw bytes on a new connection; resolves with what came back before it closed. */
async function rawExchange(request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('error', () => undefined);
  socket.end(request);
  await once(socket, 'close');
  const [head = '', body = ''] = received.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

t.test('regression: requests the parser refuses were answered without the security headers', async (t) => {
  const cases: [string, string, number][] = [
    ['TRACK', 'TRACK / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a 20 KiB URL', `GET /leads?status=${'x'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
    ['a malformed request line', 'GET\x01 / HTTP/1.1\r\n\r\n', 400],
  ];
  for (const [what, request, status] of cases) {
    const res = await rawExchange(request);
    t.equal(res.status, status, `${what}: ${status}`);
    t.equal(res.headers['content-type'], 'application/problem+json', `${what}: problem+json`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
    t.equal(res.headers['x-frame-options'], 'DENY', `${what}: not framed`);
    t.equal(res.headers['cache-control'], 'no-store', `${what}: not cached`);
    t.match(JSON.parse(res.body), { status, code: 'STRATA_REQUEST_INVALID' }, `${what}: the problem`);
  }
});
