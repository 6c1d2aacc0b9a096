/**
 * The pool-leak soak, shared by the direct and the PgBouncer variants: a bounded burst of real
 * HTTP requests (a listening server and real sockets, not inject) from three tenants on every
 * tier through tiny pools. About one request in ten fails inside a transaction and one in ten is
 * abandoned by its client mid-request (socket reset). While it runs, a probe keeps checking out
 * idle pool connections and reads their tenant context; afterwards every response is checked
 * for ids of other tenants and every pool for leaked, dirty or stuck connections.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import type { Platform } from '../../src/platform/platform.js';
import { provision, tiers, userWithToken } from '../helper.js';

interface SoakTenant {
  tenant: Tenant;
  token: string;
  ownerId: string;
  /** Renamed by the owner: renaming the caller itself would end its token (a change to a user revokes its tokens). */
  colleagueId: string;
  leads: string[];
}

/** One cycle of twenty requests: 2 fail (one mid-transaction), 2 are abandoned, 16 are ordinary (one a committed transaction). */
const cycle = [
  'create',
  'list',
  'abandonRunning',
  'create',
  'list',
  'failInTransaction',
  'users',
  'deal',
  'list',
  'create',
  'getLead',
  'list',
  'abandonPartial',
  'create',
  'failOnInsert',
  'users',
  'deal',
  'renameColleague',
  'create',
  'list',
] as const;
type Kind = (typeof cycle)[number];

const expected: Partial<Record<Kind, number>> = {
  create: 201,
  list: 200,
  users: 200,
  deal: 201,
  getLead: 200,
  renameColleague: 200,
  failInTransaction: 409,
  failOnInsert: 400,
};

interface Answer {
  caller: SoakTenant;
  kind: Kind;
  status: number;
  body: string;
  retryAfter: string | null;
}

const uuidsIn = (text: string) => text.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi) ?? [];

/** What a connection of a router pool carries while idle; no tenant context and no tenant schema. */
async function idleContext(client: pg.PoolClient) {
  const { rows } = await client.query<{ tenant: string | null; path: string }>(
    `SELECT current_setting('app.tenant_id', true) AS tenant, current_setting('search_path') AS path`,
  );
  return rows[0]!;
}

const dirty = (ctx: { tenant: string | null; path: string }) => (ctx.tenant ?? '') !== '' || /t_|__strata/.test(ctx.path);

export interface SoakOptions {
  requests: number;
  concurrency: number;
}

export async function soak(t: Test, platform: Platform, { requests, concurrency }: SoakOptions) {
  const members: SoakTenant[] = [];
  for (const tier of tiers) {
    for (const label of ['soak1', 'soak2', 'soak3']) {
      const tenant = await provision(platform, tier, label);
      const owner = await userWithToken(platform, tenant, 'owner');
      const colleague = await userWithToken(platform, tenant, 'staff');
      const db = platform.router.clientFor(tenant);
      const leads = [];
      for (let i = 0; i < 3; i++) leads.push((await db.lead.create({ data: { name: `${tenant.slug} seed ${i}` } })).id);
      members.push({ tenant, token: owner.token, ownerId: owner.user.id, colleagueId: colleague.user.id, leads });
    }
  }

  const app = await buildApp({ config: platform.config, platform });
  let abortsSeen = 0;
  app.addHook('onRequestAbort', (_request, done) => {
    abortsSeen++;
    done();
  });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };

  const answers: Answer[] = [];
  const abandoned: { caller: SoakTenant; kind: Kind }[] = [];
  const probeFindings: string[] = [];
  let probes = 0;
  let done = false;

  async function call(caller: SoakTenant, method: string, path: string, body?: unknown) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: `Bearer ${caller.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: res.status, body: await res.text(), retryAfter: res.headers.get('retry-after') };
  }

  /** Sends a request on a raw socket and resets it: after part of the body, or while it is being served. */
  async function abandon(caller: SoakTenant, method: string, path: string, body: unknown, partial: boolean) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const payload = body === undefined ? '' : JSON.stringify(body);
    const head =
      `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${caller.token}\r\n` +
      (payload ? `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n` : '') +
      '\r\n';
    socket.write(partial ? head + payload.slice(0, payload.length >> 1) : head + payload);
    await sleep(Math.floor(Math.random() * 12));
    socket.resetAndDestroy();
  }

  async function one(n: number) {
    const caller = members[(n * 7) % members.length]!;
    const kind = cycle[n % cycle.length]!;
    const lead = caller.leads[n % caller.leads.length]!;
    const newLead = { name: `${caller.tenant.slug} lead ${n}`, email: `n${n}@example.com` };
    switch (kind) {
      case 'abandonRunning':
        abandoned.push({ caller, kind });
        return n % 2 ? abandon(caller, 'POST', '/leads', newLead, false) : abandon(caller, 'GET', '/leads?limit=100', undefined, false);
      case 'abandonPartial':
        abandoned.push({ caller, kind });
        return abandon(caller, 'POST', '/leads', newLead, true);
      default: {
        const [method, path, body] = {
          create: ['POST', '/leads', newLead],
          list: ['GET', '/leads?limit=100', undefined],
          users: ['GET', '/users?limit=100', undefined],
          deal: ['POST', '/deals', { title: `${caller.tenant.slug} deal ${n}`, amount: '10.00', currency: 'EUR', leadId: lead }],
          getLead: ['GET', `/leads/${lead}`, undefined],
          // A transaction that commits (read, then update).
          renameColleague: ['PATCH', `/users/${caller.colleagueId}`, { name: `${caller.tenant.slug} owner ${n}` }],
          // Demoting the only owner: the transaction locks the owners (FOR UPDATE), then throws.
          failInTransaction: ['PATCH', `/users/${caller.ownerId}`, { role: 'admin' }],
          // The INSERT itself fails: its owner names no user (foreign key).
          failOnInsert: ['POST', '/deals', { title: 'orphan', amount: '1.00', currency: 'EUR', ownerId: randomUUID() }],
        }[kind] as [string, string, unknown];
        answers.push({ caller, kind, ...(await call(caller, method, path, body)) });
      }
    }
  }

  /** Keeps checking out idle connections of every router pool while the traffic runs. */
  async function probe() {
    while (!done) {
      for (const pool of platform.router.openPools()) {
        const client = await pool.connect();
        try {
          const ctx = await idleContext(client);
          if (dirty(ctx)) probeFindings.push(JSON.stringify(ctx));
          probes++;
        } finally {
          client.release();
        }
      }
      await sleep(5);
    }
  }

  let next = 0;
  const started = performance.now();
  const probing = probe();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) await one(next++);
    }),
  );
  done = true;
  await probing;
  const seconds = (performance.now() - started) / 1000;
  t.comment(
    `${requests} requests (${concurrency} at a time) in ${seconds.toFixed(1)} s; ${abandoned.length} abandoned, ${abortsSeen} aborts seen by the server; ${probes} probes`,
  );

  t.test('every request ran: ordinary ones succeeded, failing ones failed cleanly', async (t) => {
    t.equal(answers.length + abandoned.length, requests);
    t.ok(abandoned.length >= requests / 12, `${abandoned.length} requests abandoned by their client`);
    t.ok(abortsSeen > 0, `the server saw ${abortsSeen} requests aborted before it answered`);
    const failing = answers.filter((a) => a.kind.startsWith('fail')).length;
    t.ok(failing >= requests / 12, `${failing} requests failed mid-transaction or on their insert`);
    // A saturated pool may answer a clean 503 (STRATA_CONNECTION_WAIT_MS passed): allowed, but rare.
    const busy = answers.filter((a) => a.status === 503 && a.retryAfter && JSON.parse(a.body).code === 'STRATA_SERVICE_UNAVAILABLE');
    t.ok(busy.length <= requests / 20, `${busy.length} clean 503 answers from a saturated pool (at most 5%)`);
    const wrong = answers
      .filter((a) => a.status !== expected[a.kind] && !busy.includes(a))
      .map((a) => `${a.kind} as ${a.caller.tenant.slug}: ${a.status} ${a.body.slice(0, 200)}`);
    t.same(wrong, [], 'every other answer has the status its kind expects (no 500)');
    const refusals = answers.filter((a) => a.kind === 'failInTransaction' && !busy.includes(a));
    t.ok(
      refusals.every((a) => JSON.parse(a.body).code === 'STRATA_USER_LAST_OWNER'),
      'the transaction failures are the last-owner refusal',
    );
  });

  t.test('every response names only ids of the caller’s own tenant', async (t) => {
    const owned = new Map<SoakTenant, Set<string>>();
    for (const member of members) {
      const db = platform.router.clientFor(member.tenant);
      const ids = [
        member.tenant.id,
        ...(await db.lead.findMany({ select: { id: true } })).map((r) => r.id),
        ...(await db.deal.findMany({ select: { id: true } })).map((r) => r.id),
        ...(await db.user.findMany({ select: { id: true } })).map((r) => r.id),
      ];
      owned.set(member, new Set(ids));
    }
    const foreign: string[] = [];
    let checked = 0;
    for (const answer of answers) {
      for (const id of uuidsIn(answer.body)) {
        checked++;
        if (!owned.get(answer.caller)!.has(id.toLowerCase())) foreign.push(`${answer.caller.tenant.slug} (${answer.kind}) got ${id}`);
      }
      if (answer.kind === 'list' && answer.status === 200) {
        for (const item of JSON.parse(answer.body).items as { name: string }[]) {
          if (!item.name.startsWith(`${answer.caller.tenant.slug} `)) foreign.push(`${answer.caller.tenant.slug} listed "${item.name}"`);
        }
      }
    }
    t.ok(checked > requests, `${checked} ids checked`);
    t.same(foreign, [], 'no foreign id or row');
  });

  t.test('each tenant holds exactly its own writes', async (t) => {
    for (const member of members) {
      const names = (await platform.router.clientFor(member.tenant).lead.findMany({ select: { name: true } })).map((r) => r.name);
      const created = answers.filter((a) => a.caller === member && a.kind === 'create').length;
      const maybe = abandoned.filter((a) => a.caller === member && a.kind === 'abandonRunning').length;
      t.ok(
        names.every((name) => name.startsWith(`${member.tenant.slug} `)),
        `${member.tenant.slug}: only its own leads`,
      );
      t.ok(
        names.length >= 3 + created && names.length <= 3 + created + maybe,
        `${member.tenant.slug}: ${names.length} leads (3 seeded, ${created} created, ≤ ${maybe} abandoned creates)`,
      );
    }
  });

  t.test('no connection leaked, stuck or carrying a tenant context', async (t) => {
    t.same(probeFindings, [], `${probes} idle connections probed during the run: none carried a tenant context or schema`);
    // Handlers of abandoned requests may still be finishing: give them a bounded moment.
    const deadline = Date.now() + 15_000;
    const busy = () => platform.router.openPools().filter((p) => p.idleCount !== p.totalCount || p.waitingCount > 0);
    while (busy().length && Date.now() < deadline) await sleep(50);
    t.same(
      busy().map((p) => ({ total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount })),
      [],
      'every connection is back in its pool, nobody waits',
    );
    const { poolMax, dedicatedPoolMax } = platform.config.router;
    const stats = platform.router.stats();
    t.ok(stats.connections <= poolMax + 3 * dedicatedPoolMax, `${stats.connections} connections open, within the pools' sizes`);
    for (const pool of platform.router.openPools()) {
      // Every connection of the pool at once, so each is inspected.
      const clients = await Promise.all(Array.from({ length: pool.options.max ?? 1 }, () => pool.connect()));
      try {
        for (const client of clients) t.notOk(dirty(await idleContext(client)), 'a pool connection carries no tenant context or schema');
      } finally {
        for (const client of clients) client.release();
      }
    }
  });

  t.test('afterwards every tenant is still served', async (t) => {
    for (const member of members) {
      const res = await call(member, 'GET', '/leads?limit=1');
      t.equal(res.status, 200, `${member.tenant.slug} is served`);
    }
  });
}
