/**
 * API7 Server side request forgery. The fields that make the server connect somewhere (a database
 * server's host and port, reached with a secret the request names) are admin-only and validated, and
 * no request may name a secret of the platform itself as a database password: a listener that asks
 * for the password in clear text (as a PostgreSQL server may) records what it is sent. URL-like
 * fields anyone can set (branding) are validated and never fetched by the server.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttackContext } from './attack-context.js';
import type { Fixtures } from './fixtures.js';

/** Variables of the platform's own configuration that are not database passwords. */
const platformSecrets = ['JWT_SECRET', 'STRATA_ADMIN_PASSWORD', 'DATABASE_URL', 'REDIS_URL', 'STRATA_METRICS_TOKEN', 'STRATA_EMBEDDED_PASSWORD'];

/**
 * A TCP listener posing as PostgreSQL: every connection is asked for its password in clear text
 * (AuthenticationCleartextPassword), which is recorded, then refused.
 */
async function fakePostgres() {
  const connections: string[] = [];
  const passwords: string[] = [];
  const server = createServer((socket: Socket) => {
    connections.push(String(socket.remoteAddress));
    let buffered = Buffer.alloc(0);
    let asked = false;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!asked && buffered.length >= 8) {
        const code = buffered.readInt32BE(4);
        buffered = buffered.subarray(buffered.readInt32BE(0));
        if (code === 80877103) return void socket.write('N'); // SSLRequest: no TLS here
        asked = true;
        const auth = Buffer.alloc(9);
        auth.write('R', 0);
        auth.writeInt32BE(8, 1);
        auth.writeInt32BE(3, 5);
        return void socket.write(auth);
      }
      if (asked && buffered.length >= 5 && buffered[0] === 0x70) {
        passwords.push(buffered.subarray(5, 1 + buffered.readInt32BE(1) - 1).toString());
        socket.destroy();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, connections, passwords, close: () => server.close() };
}

async function serverRegistration(ctx: AttackContext, fx: Fixtures) {
  const token = fx.adminToken;
  const as = 'platform admin';
  const listener = await fakePostgres();
  try {
    const base = { name: `ssrf-${fx.runId}`, host: '127.0.0.1', port: listener.port, bootstrap: { secretRef: 'env:STRATA_OWNER_PASSWORD' } };
    ctx.expect(
      'a tenant owner registers a database server',
      await ctx.send('POST', '/admin/servers', { token: fx.alpha.pooled.users.owner.token, as: 'tenant owner', body: base }),
      401,
    );
    for (const host of [
      'http://169.254.169.254/',
      '169.254.169.254/latest/meta-data',
      'user:pw@evil.example',
      'evil.example/db?host=x',
      'evil example',
      'evil.example\r\nX: y',
      '',
      'a'.repeat(300),
    ]) {
      ctx.expect(`a server host ${JSON.stringify(host.slice(0, 40))}`, await ctx.send('POST', '/admin/servers', { token, as, body: { ...base, host } }), 400);
    }
    for (const port of [0, 70_000, -1])
      ctx.expect(`a server port ${port}`, await ctx.send('POST', '/admin/servers', { token, as, body: { ...base, port } }), 400);
    ctx.expect(
      'a literal password instead of a reference',
      await ctx.send('POST', '/admin/servers', { token, as, body: { ...base, bootstrap: { secretRef: 'hunter2-literal' } } }),
      400,
    );
    for (const name of platformSecrets) {
      for (const field of ['bootstrap', 'ownerSecretRef', 'runtimeSecretRef'] as const) {
        const body = field === 'bootstrap' ? { ...base, bootstrap: { secretRef: `env:${name}` } } : { ...base, [field]: `env:${name}` };
        ctx.expect(`${field} names ${name}`, await ctx.send('POST', '/admin/servers', { token, as, body }), 400);
      }
    }
    const servers = await ctx.send('GET', '/admin/servers', { token, as });
    const name = servers.body?.items?.[0]?.name ?? 'default';
    for (const secret of ['JWT_SECRET', 'STRATA_ADMIN_PASSWORD', 'DATABASE_URL']) {
      ctx.expect(
        `change a server’s owner secret to ${secret}`,
        await ctx.send('PATCH', `/admin/servers/${name}`, { token, as, body: { ownerSecretRef: `env:${secret}` } }),
        400,
      );
    }
    await sleep(300);
    const known = [ctx.options.jwtSecret, ctx.options.admin.password].filter(Boolean) as string[];
    const leaked = listener.passwords.filter((p) => known.includes(p) || /^postgres(ql)?:\/\//.test(p) || /^rediss?:\/\//.test(p));
    ctx.record(
      'no platform secret reaches a host the request names',
      `POST /admin/servers with references to ${platformSecrets.join(', ')} (listener on 127.0.0.1:${listener.port})`,
      'the listener receives none of them',
      `${listener.connections.length} connection(s), ${leaked.length} platform secret(s) received`,
      leaked.length === 0,
    );
  } finally {
    listener.close();
  }
}

async function urlFields(ctx: AttackContext, fx: Fixtures) {
  const token = fx.adminToken;
  const as = 'platform admin';
  const f = fx.alpha.pooled;
  const branding = (b: Record<string, string>) => ({ config: { branding: b } });
  for (const logoUrl of [
    'http://169.254.169.254/latest/meta-data/',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'gopher://127.0.0.1:6379/_FLUSHALL',
    'ftp://evil.example/x',
    '//evil.example/logo.svg',
  ]) {
    ctx.expect(`a logo URL ${logoUrl.slice(0, 40)}`, await ctx.send('PATCH', `/admin/tenants/${f.id}`, { token, as, body: branding({ logoUrl }) }), 400);
  }
  for (const customDomain of ['169.254.169.254', 'localhost', 'evil.example/x', 'evil.example:6379', 'EVIL.example']) {
    ctx.expect(`a custom domain ${customDomain}`, await ctx.send('PATCH', `/admin/tenants/${f.id}`, { token, as, body: branding({ customDomain }) }), 400);
  }
  const listener = await fakePostgres();
  try {
    const logoUrl = `https://127.0.0.1:${listener.port}/logo.svg`;
    ctx.expect('an https logo URL is stored', await ctx.send('PATCH', `/admin/tenants/${f.id}`, { token, as, body: branding({ logoUrl }) }), 200);
    await ctx.send('GET', '/settings', { token: f.users.owner.token });
    await ctx.send('GET', `/admin/tenants/${f.id}`, { token });
    await sleep(500);
    ctx.record(
      'the server never fetches a logo URL',
      `PATCH /admin/tenants/${f.id} {logoUrl: ${logoUrl}}, then GET /settings`,
      'no connection to it',
      `${listener.connections.length} connection(s)`,
      listener.connections.length === 0,
    );
  } finally {
    listener.close();
  }
  ctx.expect(
    'provision on a server named by URL',
    await ctx.send('POST', '/admin/tenants', {
      token,
      as,
      body: { slug: `ssrf-${fx.runId}`, name: 'x', plan: 'free', server: 'http://evil.example/', owner: { email: `o@ssrf-${fx.runId}.example`, name: 'o' } },
    }),
    400,
  );
  ctx.expect(
    'move to a server named by URL',
    await ctx.send('POST', `/admin/tenants/${fx.beta.pooled.id}/moves`, { token, as, body: { targetTier: 'schema', targetServer: 'http://evil.example/' } }),
    [400, 404],
  );
}

export async function serverSideRequestForgery(ctx: AttackContext, fx: Fixtures) {
  await serverRegistration(ctx, fx);
  await urlFields(ctx, fx);
}
