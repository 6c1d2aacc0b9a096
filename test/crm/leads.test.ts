import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import type { z } from 'zod';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import type { leadOutput } from '../../src/crm/leads/lead-schemas.js';
import { startTestPlatform, tenantPairs, testApp, tiers, tokenFor } from '../helper.js';
import { uuidPattern } from '../../src/tenants/placement.js';
import { problem, resourceClient } from './resource-client.js';

type Lead = z.infer<typeof leadOutput>;

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);
const app = await testApp(t, platform);

/** Requests as one tenant's user. */
function as(tenant: Tenant) {
  const api = resourceClient<Lead>(app, tokenFor(platform, tenant), '/leads');
  return { ...api, create: (fields: Record<string, unknown> = {}) => api.created({ name: 'Ada Lovelace', ...fields }) };
}

for (const tier of tiers) {
  const { a, b } = pairs[tier];
  const alice = as(a);
  const bob = as(b);

  t.test(tier, async (t) => {
    // Each scenario counts and lists from an empty tenant.
    t.beforeEach(async () => {
      for (const tenant of [a, b]) await platform.router.clientFor(tenant).lead.deleteMany();
    });

    t.test('create answers 201 with the lead, its ETag and Location, never its tenant', async (t) => {
      const input = {
        name: 'Ada Lovelace',
        company: 'Analytical Engines',
        email: 'ada@example.com',
        phone: '+44 20 7946 0000',
        source: 'referral',
        status: 'qualified',
      };
      const res = await alice.post(input);
      t.equal(res.statusCode, 201);
      const lead: Lead = res.json();
      t.match(lead, { ...input, ownerId: null, assigneeId: null, version: 1 });
      t.match(lead.id, uuidPattern);
      t.ok(Date.parse(lead.createdAt) <= Date.now());
      t.equal(res.headers.etag, '"1"');
      t.equal(res.headers.location, `/leads/${lead.id}`);
      t.notOk('tenantId' in lead);
      t.notOk(res.payload.includes(a.id), "the tenant's id appears nowhere in the body");

      const minimal: Lead = (await alice.post({ name: '  Grace  ' })).json();
      t.match(minimal, { name: 'Grace', company: null, email: null, phone: null, source: null, status: 'new' });

      const got = await alice.get(`/leads/${lead.id}`);
      t.equal(got.statusCode, 200);
      t.same(got.json(), lead);
      t.equal(got.headers.etag, '"1"');
    });

    t.test('listing pages newest first, each lead exactly once', async (t) => {
      const created: string[] = [];
      for (let i = 0; i < 5; i++) {
        created.push((await alice.create({ name: `lead ${i}` })).id);
        // Distinct creation times, so "newest first" names a single order.
        await sleep(3);
      }
      const pages = await alice.pages('limit=2');
      t.same(
        pages.map((p) => p.length),
        [2, 2, 1],
      );
      t.same(
        pages.flat().map((l) => l.id),
        created.toReversed(),
      );

      t.equal((await alice.pages('limit=5')).length, 1, 'a page that holds everything has no next cursor');
      t.same(
        (await alice.pages('limit=4')).map((p) => p.length),
        [4, 1],
      );
      t.same((await alice.pages('')).flat().length, 5, 'the default limit holds them all');
    });

    t.test('leads created in the same millisecond are each listed once', async (t) => {
      // The cursor must break createdAt ties by id, or rows at a page boundary repeat or vanish.
      const createdAt = new Date('2025-01-01T00:00:00.000Z');
      const db = platform.router.clientFor(a);
      for (let i = 0; i < 5; i++) await db.lead.create({ data: { name: `tied ${i}`, createdAt } });
      const listed = (await alice.pages('limit=2')).flat().map((l) => l.id);
      t.equal(listed.length, 5);
      t.equal(new Set(listed).size, 5);
      t.same(listed, listed.toSorted().toReversed(), 'ties are ordered by id, descending');
    });

    t.test('listing filters by status', async (t) => {
      await alice.create({ status: 'new' });
      await alice.create({ status: 'contacted' });
      const qualified = [(await alice.create({ status: 'qualified' })).id, (await alice.create({ status: 'qualified' })).id];
      t.same((await alice.ids('status=qualified&limit=1')).toSorted(), qualified.toSorted(), 'across pages too');
      t.same(await alice.ids('status=converted'), []);
      t.equal((await alice.ids()).length, 4);
    });

    t.test('PATCH applies with or without If-Match, and refuses a stale or malformed one', async (t) => {
      const lead = await alice.create({ company: 'Acme' });

      const blind = await alice.patch(lead.id, { status: 'contacted' });
      t.equal(blind.statusCode, 200);
      t.match(blind.json(), { status: 'contacted', company: 'Acme', name: lead.name, version: 2 });
      t.equal(blind.headers.etag, '"2"');

      const checked = await alice.patch(lead.id, { company: 'Acme Ltd' }, { 'if-match': '"2"' });
      t.equal(checked.statusCode, 200);
      t.match(checked.json(), { company: 'Acme Ltd', version: 3 });

      const stale = await alice.patch(lead.id, { company: 'lost update' }, { 'if-match': '"2"' });
      problem(t, stale, 409, 'STRATA_RESOURCE_VERSION_CONFLICT');

      for (const ifMatch of ['abc', '"', '*', '"3", "4"']) {
        problem(t, await alice.patch(lead.id, { company: 'bad precondition' }, { 'if-match': ifMatch }), 428, 'STRATA_REQUEST_PRECONDITION_INVALID');
      }

      const current = await alice.get(`/leads/${lead.id}`);
      t.match(current.json(), { company: 'Acme Ltd', version: 3 }, 'refused edits changed nothing');
      t.equal(current.headers.etag, '"3"');
    });

    t.test('DELETE answers 204, after which the lead is gone', async (t) => {
      const lead = await alice.create();
      problem(t, await alice.delete(lead.id, { 'if-match': '"7"' }), 409, 'STRATA_RESOURCE_VERSION_CONFLICT');
      t.equal((await alice.get(`/leads/${lead.id}`)).statusCode, 200, 'a stale delete deletes nothing');

      const res = await alice.delete(lead.id, { 'if-match': '"1"' });
      t.equal(res.statusCode, 204);
      t.equal(res.payload, '');
      problem(t, await alice.get(`/leads/${lead.id}`), 404, 'STRATA_RESOURCE_NOT_FOUND');
      problem(t, await alice.delete(lead.id), 404, 'STRATA_RESOURCE_NOT_FOUND');
      problem(t, await alice.patch(lead.id, { name: 'back' }), 404, 'STRATA_RESOURCE_NOT_FOUND');
      t.same(await alice.ids(), []);
    });

    t.test("A's token never reaches B's leads: 404, as for an id that exists nowhere", async (t) => {
      const mine = await alice.create({ name: 'A lead' });
      const theirs = await bob.create({ name: 'B lead', email: 'b@example.com' });
      const unknown = randomUUID();

      const attempts = (id: string) => [
        alice.get(`/leads/${id}`),
        alice.patch(id, { name: 'hijacked' }),
        alice.patch(id, { name: 'hijacked' }, { 'if-match': '"1"' }),
        alice.delete(id, { 'if-match': '"1"' }),
        alice.delete(id),
      ];
      const forB = await Promise.all(attempts(theirs.id));
      const forUnknown = await Promise.all(attempts(unknown));
      forB.forEach((res, i) => {
        problem(t, res, 404, 'STRATA_RESOURCE_NOT_FOUND');
        t.same(res.json(), forUnknown[i]!.json(), 'indistinguishable from an unknown id');
      });

      const seenByB = await bob.get(`/leads/${theirs.id}`);
      t.same(seenByB.json(), theirs, "B's lead is unchanged");
      t.same(await alice.ids(), [mine.id]);
      t.same(await alice.ids('status=new&limit=1'), [mine.id]);
      t.same(await bob.ids(), [theirs.id]);
    });

    t.test('X-Tenant naming another tenant is refused; naming the own tenant is accepted', async (t) => {
      for (const named of [b.slug, b.id]) {
        problem(t, await alice.get('/leads', { 'x-tenant': named }), 403, 'STRATA_TENANT_MISMATCH');
        problem(t, await alice.post({ name: 'via header' }, { 'x-tenant': named }), 403, 'STRATA_TENANT_MISMATCH');
      }
      t.same(await bob.ids(), [], 'nothing was written to B');
      t.same(await alice.ids(), [], 'nor to A');

      for (const named of [a.slug, a.id]) {
        t.equal((await alice.get('/leads', { 'x-tenant': named })).statusCode, 200);
        t.equal((await alice.post({ name: 'own header' }, { 'x-tenant': named })).statusCode, 201);
      }
      t.equal((await alice.ids()).length, 2);
    });

    t.test('bad input is a problem and writes nothing', async (t) => {
      const lead = await alice.create({ company: 'Untouched' });
      const long = 'x'.repeat(201);
      const json = { 'content-type': 'application/json' };
      const cursor = (raw: string) => `/leads?cursor=${Buffer.from(raw).toString('base64url')}`;
      const cases: [string, () => Promise<LightMyRequestResponse>, number, string][] = [
        ['an unknown field (tenantId)', () => alice.post({ name: 'x', tenantId: b.id }), 400, 'STRATA_REQUEST_INVALID'],
        ['an unknown field (id)', () => alice.post({ name: 'x', id: randomUUID() }), 400, 'STRATA_REQUEST_INVALID'],
        ['an unknown field (version)', () => alice.post({ name: 'x', version: 9 }), 400, 'STRATA_REQUEST_INVALID'],
        ['a number as name', () => alice.post({ name: 42 }), 400, 'STRATA_REQUEST_INVALID'],
        ['an array as name', () => alice.post({ name: ['x'] }), 400, 'STRATA_REQUEST_INVALID'],
        ['an unknown status', () => alice.post({ name: 'x', status: 'won' }), 400, 'STRATA_REQUEST_INVALID'],
        ['a non-uuid ownerId', () => alice.post({ name: 'x', ownerId: 'me' }), 400, 'STRATA_REQUEST_INVALID'],
        ['no name', () => alice.post({ company: 'x' }), 400, 'STRATA_REQUEST_INVALID'],
        ['an empty name', () => alice.post({ name: '' }), 400, 'STRATA_REQUEST_INVALID'],
        ['a blank name', () => alice.post({ name: '   ' }), 400, 'STRATA_REQUEST_INVALID'],
        ['a name of 201 characters', () => alice.post({ name: long }), 400, 'STRATA_REQUEST_INVALID'],
        ['an invalid email', () => alice.post({ name: 'x', email: 'not-an-email' }), 400, 'STRATA_REQUEST_INVALID'],
        ['a JSON array body', () => alice.post([{ name: 'x' }]), 400, 'STRATA_REQUEST_INVALID'],
        ['malformed JSON', () => alice.post('{"name": "x"', json), 400, 'STRATA_REQUEST_MALFORMED'],
        ['an empty JSON body', () => alice.post('', json), 400, 'STRATA_REQUEST_MALFORMED'],
        ['a body over 256 KiB', () => alice.post({ name: 'x', company: 'y'.repeat(256 * 1024) }), 413, 'STRATA_REQUEST_TOO_LARGE'],
        ['a form body', () => alice.post('name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'STRATA_REQUEST_MEDIA_TYPE'],
        ['a NUL in the name', () => alice.post({ name: 'a\u0000b' }), 400, 'STRATA_REQUEST_INVALID'],
        ['a NUL in the company', () => alice.post({ name: 'x', company: '\u0000' }), 400, 'STRATA_REQUEST_INVALID'],
        ['limit=1000', () => alice.get('/leads?limit=1000'), 400, 'STRATA_REQUEST_INVALID'],
        ['limit=abc', () => alice.get('/leads?limit=abc'), 400, 'STRATA_REQUEST_INVALID'],
        ['limit=0', () => alice.get('/leads?limit=0'), 400, 'STRATA_REQUEST_INVALID'],
        ['limit=1.5', () => alice.get('/leads?limit=1.5'), 400, 'STRATA_REQUEST_INVALID'],
        ['an unknown query parameter', () => alice.get('/leads?tenantId=x'), 400, 'STRATA_REQUEST_INVALID'],
        ['an unknown status filter', () => alice.get('/leads?status=won'), 400, 'STRATA_REQUEST_INVALID'],
        ['a garbage cursor', () => alice.get('/leads?cursor=garbage'), 400, 'STRATA_REQUEST_INVALID'],
        ['a cursor over 200 characters', () => alice.get(`/leads?cursor=${long}`), 400, 'STRATA_REQUEST_INVALID'],
        ['a cursor dated before PostgreSQL time', () => alice.get(cursor(`-100000-01-01T00:00:00.000Z|${randomUUID()}`)), 400, 'STRATA_REQUEST_INVALID'],
        ['a cursor whose id is not a uuid', () => alice.get(cursor(`2025-01-01T00:00:00.000Z|${'-'.repeat(36)}`)), 400, 'STRATA_REQUEST_INVALID'],
        ['a non-uuid id to GET', () => alice.get('/leads/not-a-uuid'), 400, 'STRATA_REQUEST_INVALID'],
        ['a non-uuid id to PATCH', () => alice.patch('not-a-uuid', { name: 'x' }), 400, 'STRATA_REQUEST_INVALID'],
        ['a non-uuid id to DELETE', () => alice.delete('not-a-uuid'), 400, 'STRATA_REQUEST_INVALID'],
        ['an id longer than any route param', () => alice.get(`/leads/${long}`), 414, 'STRATA_REQUEST_INVALID'],
        ['an id that is not valid percent-encoding', () => alice.delete('%E0%A4%A'), 400, 'STRATA_REQUEST_INVALID'],
        ['an unknown field to PATCH', () => alice.patch(lead.id, { company: 'x', tenantId: b.id }), 400, 'STRATA_REQUEST_INVALID'],
        ['an empty name to PATCH', () => alice.patch(lead.id, { name: '' }), 400, 'STRATA_REQUEST_INVALID'],
        ['a null name to PATCH', () => alice.patch(lead.id, { name: null }), 400, 'STRATA_REQUEST_INVALID'],
        ['malformed JSON to PATCH', () => alice.patch(lead.id, '{', json), 400, 'STRATA_REQUEST_MALFORMED'],
      ];
      // Not subtests: the wipe before each scenario would run before each case too.
      for (const [name, send, status, code] of cases) {
        problem(t, await send(), status, code, name);
        t.same(await alice.ids(), [lead.id], `${name}: A still holds exactly its one lead`);
        t.same(await bob.ids(), [], `${name}: and B none`);
      }
      t.same((await alice.get(`/leads/${lead.id}`)).json(), lead, 'refused patches changed nothing');
    });

    t.test('text is stored and returned verbatim, whatever it looks like', async (t) => {
      const names = [
        "Robert'); DROP TABLE leads;--",
        "' OR '1'='1",
        '%_\\ $1 ${name} {{x}} `id`',
        '"quoted" <b>bold</b> &amp;',
        'Zoë Ångström — 名前 Ωμέγα',
        'emoji 🚀👩‍👩‍👧 🇫🇷',
        'right\u202Eto-left',
        'é'.repeat(200),
      ];
      for (const name of names) {
        const res = await alice.post({ name, company: name });
        t.equal(res.statusCode, 201, name);
        t.match(res.json(), { name, company: name });
        const got: Lead = (await alice.get(`/leads/${res.json().id}`)).json();
        t.equal(got.name, name, 'read back identically');
      }
      const listed = (await alice.pages('limit=100')).flat().map((l) => l.name);
      t.same(listed.toSorted(), names.toSorted(), 'all stored, nothing else touched');
    });

    t.test("ownerId naming no user of this tenant is refused alike, whether or not it is B's", async (t) => {
      const user = (tenant: Tenant) =>
        platform.router.clientFor(tenant).user.create({ data: { email: `${randomUUID()}@example.com`, name: 'U', passwordHash: 'x' } });
      const aUser = await user(a);
      const bUser = await user(b);

      const owned = await alice.post({ name: 'owned', ownerId: aUser.id, assigneeId: aUser.id });
      t.equal(owned.statusCode, 201, "A's own user is a valid owner");
      t.match(owned.json(), { ownerId: aUser.id, assigneeId: aUser.id });

      for (const field of ['ownerId', 'assigneeId']) {
        const unknown = await alice.post({ name: 'x', [field]: randomUUID() });
        const body = problem(t, unknown, 400, 'STRATA_REQUEST_INVALID');
        t.equal(body.errors?.[0]?.field, `body.${field}`);
        const foreign = await alice.post({ name: 'x', [field]: bUser.id });
        t.equal(foreign.statusCode, 400);
        t.same(foreign.json(), body, "B's user reveals nothing beyond an unknown id");
        t.same(foreign.headers['content-type'], unknown.headers['content-type']);

        const patched = await alice.patch(owned.json().id, { [field]: bUser.id });
        t.same(patched.json(), body, 'PATCH refuses it alike');
      }
      t.same(await alice.ids(), [owned.json().id], 'nothing else was written');
      t.same((await alice.get(`/leads/${owned.json().id}`)).json(), owned.json());
      t.same(await alice.ids(`ownerId=${bUser.id}`), [], "filtering by B's user finds nothing");
    });
  });
}
