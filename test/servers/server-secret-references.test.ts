/**
 * Regression (found by `npm run attack`, API7): a server registration or change could name any
 * variable as a database password, JWT_SECRET, DATABASE_URL or the admin password included, and
 * Strata connected to the host given and sent it there (in clear text when that host asked for it).
 * References to Strata's own settings, other than the roles' passwords, are refused before any
 * connection, naming the field, and nothing is recorded.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import t from 'tap';
import { startTestPlatform } from '../helper.js';
import { liveAdmin } from '../support/live-admin.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const { api, adminLogin } = await liveAdmin(t, platform);
const admin = await adminLogin();

// Where a hostile registration would point: it counts the connections it gets.
let connections = 0;
const listener = createServer((socket) => {
  connections++;
  socket.destroy();
}).listen(0, '127.0.0.1');
await once(listener, 'listening');
t.teardown(() => listener.close());
const port = (listener.address() as { port: number }).port;

const platformSettings = ['JWT_SECRET', 'STRATA_ADMIN_PASSWORD', 'DATABASE_URL', 'STRATA_EMBEDDED_PASSWORD', 'STRATA_METRICS_TOKEN', 'REDIS_URL'];

t.test('regression: a registration could send JWT_SECRET or DATABASE_URL to any host as a password', async (t) => {
  const before = (await api('GET', '/admin/servers', { token: admin })).body.items.length;
  process.env.STRATA_METRICS_TOKEN ??= 'a-metrics-token-set-for-this-test-only';
  for (const name of platformSettings) {
    const base = { name: 'hostile', host: '127.0.0.1', port, bootstrap: { secretRef: 'env:STRATA_OWNER_PASSWORD' } };
    const cases: [string, Record<string, unknown>][] = [
      ['body.bootstrap.secretRef', { ...base, bootstrap: { secretRef: `env:${name}` } }],
      ['body.ownerSecretRef', { ...base, ownerSecretRef: `env:${name}` }],
      ['body.runtimeSecretRef', { ...base, runtimeSecretRef: `env:${name}` }],
    ];
    for (const [field, body] of cases) {
      const res = await api('POST', '/admin/servers', { token: admin, body });
      t.equal(res.status, 400, `${field} = env:${name}: 400`);
      t.match(res.body.errors, [{ field, message: /Strata’s own settings/ }], `${field} = env:${name}: the field is named`);
    }
  }
  t.equal(connections, 0, 'the host named was never contacted');
  t.equal((await api('GET', '/admin/servers', { token: admin })).body.items.length, before, 'nothing was recorded');
});

t.test('regression: a server’s owner secret could be changed to JWT_SECRET', async (t) => {
  const [server] = (await api('GET', '/admin/servers', { token: admin })).body.items as { name: string; ownerSecretRef: string; runtimeSecretRef: string }[];
  for (const field of ['ownerSecretRef', 'runtimeSecretRef']) {
    const res = await api('PATCH', `/admin/servers/${server!.name}`, { token: admin, body: { [field]: 'env:JWT_SECRET' } });
    t.equal(res.status, 400, `${field}: 400`);
    t.match(res.body.errors, [{ field: `body.${field}` }]);
  }
  const [after] = (await api('GET', '/admin/servers', { token: admin })).body.items;
  t.match(after, { ownerSecretRef: server!.ownerSecretRef, runtimeSecretRef: server!.runtimeSecretRef }, 'its references are unchanged');
  const allowed = await api('PATCH', `/admin/servers/${server!.name}`, { token: admin, body: { ownerSecretRef: 'env:STRATA_OWNER_PASSWORD' } });
  t.equal(allowed.status, 200, 'the roles’ own passwords may still be referenced');
});
