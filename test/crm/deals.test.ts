import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import type { z } from 'zod';
import { signAccessToken, type AccessClaims } from '../../src/auth/tokens.js';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import type { dealOutput } from '../../src/crm/deals/deal-schemas.js';
import { bearer, startTestPlatform, tenantPairs, testApp, tiers, tokenFor, userWithToken } from '../helper.js';
import { uuidPattern } from '../../src/tenants/placement.js';
import { problem, resourceClient } from './resource-client.js';

type Deal = z.infer<typeof dealOutput>;
type Role = AccessClaims['role'];

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);
const app = await testApp(t, platform);

const db = (tenant: Tenant) => platform.router.clientFor(tenant);

/** Requests to /deals with `token`. */
function as(token: string) {
  const api = resourceClient<Deal>(app, token, '/deals');
  return { ...api, create: (fields: Record<string, unknown> = {}) => api.created({ title: 'Big deal', amount: '1000', currency: 'EUR', ...fields }) };
}

/** A user of `tenant` with `role`, and its API. */
async function member(tenant: Tenant, role: Role) {
  const { user, token } = await userWithToken(platform, tenant, role);
  return { user, api: as(token) };
}

function lead(tenant: Tenant, fields: { ownerId?: string; assigneeId?: string } = {}) {
  return db(tenant).lead.create({ data: { name: 'A lead', ...fields } });
}

const sorted = (ids: string[]) => ids.toSorted();

for (const tier of tiers) {
  const { a, b } = pairs[tier];
  // A's manager, two of A's staff, and B's manager.
  const { user: aliceUser, api: alice } = await member(a, 'manager');
  const { user: samUser, api: sam } = await member(a, 'staff');
  const { user: sueUser, api: sue } = await member(a, 'staff');
  const { user: bobUser, api: bob } = await member(b, 'manager');

  t.test(tier, async (t) => {
    // Each scenario counts and lists from empty tenants (users stay).
    t.beforeEach(async () => {
      for (const tenant of [a, b]) {
        await db(tenant).activity.deleteMany();
        await db(tenant).deal.deleteMany();
        await db(tenant).lead.deleteMany();
      }
    });

    t.test('create answers 201 with the deal, its ETag and Location, never its tenant', async (t) => {
      const input = { title: 'Engines for the Admiralty', amount: '1234.5', currency: 'GBP', stage: 'proposal', closeDate: '2024-02-29' };
      const res = await alice.post(input);
      t.equal(res.statusCode, 201);
      const deal: Deal = res.json();
      t.match(deal, { ...input, amount: '1234.50', leadId: null, ownerId: aliceUser.id, version: 1 });
      t.match(deal.id, uuidPattern);
      t.ok(Date.parse(deal.createdAt) <= Date.now());
      t.equal(deal.updatedAt, deal.createdAt);
      t.equal(res.headers.etag, '"1"');
      t.equal(res.headers.location, `/deals/${deal.id}`);
      t.notOk('tenantId' in deal);
      t.notOk(res.payload.includes(a.id), "the tenant's id appears nowhere in the body");

      const minimal: Deal = (await alice.post({ title: '  Small  ', amount: '0', currency: 'USD' })).json();
      t.match(minimal, { title: 'Small', amount: '0.00', currency: 'USD', stage: 'prospecting', leadId: null, closeDate: null });

      const got = await alice.get(`/deals/${deal.id}`);
      t.equal(got.statusCode, 200);
      t.same(got.json(), deal);
      t.equal(got.headers.etag, '"1"');
    });

    t.test('amounts are exact decimal strings with two decimals, up to numeric(18, 2)', async (t) => {
      const cases = [
        ['0.1', '0.10'],
        ['0.05', '0.05'],
        ['007', '7.00'],
        ['12.3', '12.30'],
        ['9999999999999999.99', '9999999999999999.99'],
        ['1234567890123456', '1234567890123456.00'],
      ];
      for (const [amount, expected] of cases) {
        const deal = await alice.create({ amount });
        t.equal(deal.amount, expected, `${amount} is returned as ${expected}`);
        t.equal((await alice.get(`/deals/${deal.id}`)).json().amount, expected, `${amount} is stored exactly`);
      }
    });

    t.test('ownerId defaults to the caller only when the caller is a user of this tenant', async (t) => {
      t.equal((await alice.create()).ownerId, aliceUser.id, "a user's deal is theirs");
      t.equal((await sam.create()).ownerId, samUser.id, "staff's too");

      const operator = as(tokenFor(platform, a, 'owner'));
      t.equal((await operator.create()).ownerId, null, 'a token naming no user: no owner');

      const foreign = as(signAccessToken(platform.config.jwt, { sub: bobUser.id, tid: a.id, role: 'manager' }));
      t.equal((await foreign.create()).ownerId, null, "a token naming B's user for A: no owner");

      t.equal((await alice.create({ ownerId: samUser.id })).ownerId, samUser.id, 'an explicit owner is kept');
      t.equal((await alice.create({ ownerId: null })).ownerId, null, 'so is an explicit null');
      t.equal((await alice.ids()).length, 6);
    });

    t.test('listing pages newest first, each deal exactly once', async (t) => {
      const created: string[] = [];
      for (let i = 0; i < 5; i++) {
        created.push((await alice.create({ title: `deal ${i}` })).id);
        // Distinct creation times, so "newest first" names a single order.
        await sleep(3);
      }
      const pages = await alice.pages('limit=2');
      t.same(
        pages.map((p) => p.length),
        [2, 2, 1],
      );
      t.same(
        pages.flat().map((d) => d.id),
        created.toReversed(),
      );

      t.equal((await alice.pages('limit=5')).length, 1, 'a page that holds everything has no next cursor');
      t.same(
        (await alice.pages('limit=4')).map((p) => p.length),
        [4, 1],
      );
      t.same(
        (await alice.pages('')).map((p) => p.length),
        [5],
        'the default limit holds them all',
      );
    });

    t.test('the default page holds 20 and a page at most 100', async (t) => {
      const data = Array.from({ length: 101 }, (_, i) => ({ title: `bulk ${i}`, amount: '1', currency: 'EUR' }));
      await db(a).deal.createMany({ data });
      t.same(
        (await alice.pages('')).map((p) => p.length),
        [20, 20, 20, 20, 20, 1],
      );
      const byHundred = await alice.pages('limit=100');
      t.same(
        byHundred.map((p) => p.length),
        [100, 1],
      );
      t.equal(new Set(byHundred.flat().map((d) => d.id)).size, 101, 'every deal exactly once');
    });

    t.test('deals created in the same millisecond are each listed once', async (t) => {
      // The cursor must break createdAt ties by id, or rows at a page boundary repeat or vanish.
      const createdAt = new Date('2025-01-01T00:00:00.000Z');
      for (let i = 0; i < 5; i++) await db(a).deal.create({ data: { title: `tied ${i}`, amount: '1', currency: 'EUR', createdAt } });
      const listed = (await alice.pages('limit=2')).flat().map((d) => d.id);
      t.equal(listed.length, 5);
      t.equal(new Set(listed).size, 5);
      t.same(listed, listed.toSorted().toReversed(), 'ties are ordered by id, descending');
    });

    t.test('listing filters by stage, lead and owner, alone and together, across pages', async (t) => {
      const l1 = await lead(a);
      const l2 = await lead(a);
      const won1 = await alice.create({ stage: 'won', leadId: l1.id });
      const won2 = await alice.create({ stage: 'won', leadId: l2.id, ownerId: samUser.id });
      const lost1 = await alice.create({ stage: 'lost', leadId: l1.id, ownerId: samUser.id });
      const open = await alice.create();

      t.same(sorted(await alice.ids('stage=won&limit=1')), sorted([won1.id, won2.id]));
      t.same(sorted(await alice.ids(`leadId=${l1.id}&limit=1`)), sorted([won1.id, lost1.id]));
      t.same(sorted(await alice.ids(`ownerId=${samUser.id}&limit=1`)), sorted([won2.id, lost1.id]));
      t.same(await alice.ids(`ownerId=${aliceUser.id}&stage=won`), [won1.id]);
      t.same(await alice.ids(`stage=won&leadId=${l2.id}&ownerId=${samUser.id}`), [won2.id]);
      t.same(await alice.ids(`stage=lost&leadId=${l2.id}`), []);
      t.same(await alice.ids('stage=negotiation'), []);
      t.same(await alice.ids(`leadId=${randomUUID()}`), []);
      t.same(await alice.ids('stage=prospecting'), [open.id]);
      t.equal((await alice.ids()).length, 4);
    });

    t.test('PATCH applies with or without If-Match, and refuses a stale or malformed one', async (t) => {
      const l = await lead(a);
      const deal = await alice.create({ leadId: l.id, closeDate: '2025-06-30' });

      const blind = await alice.patch(deal.id, { stage: 'negotiation' });
      t.equal(blind.statusCode, 200);
      t.match(blind.json(), { stage: 'negotiation', title: deal.title, amount: '1000.00', version: 2 });
      t.equal(blind.headers.etag, '"2"');
      t.ok(Date.parse(blind.json().updatedAt) >= Date.parse(deal.updatedAt));

      const checked = await alice.patch(deal.id, { amount: '99.9', currency: 'CHF', closeDate: null, leadId: null }, { 'if-match': '"2"' });
      t.equal(checked.statusCode, 200);
      t.match(checked.json(), { amount: '99.90', currency: 'CHF', closeDate: null, leadId: null, version: 3 });

      const stale = await alice.patch(deal.id, { title: 'lost update' }, { 'if-match': '"2"' });
      problem(t, stale, 409, 'STRATA_RESOURCE_VERSION_CONFLICT');
      const weak = await alice.patch(deal.id, { closeDate: '2026-01-31' }, { 'if-match': 'W/"3"' });
      t.equal(weak.statusCode, 200, 'a weak ETag names the version too');
      t.match(weak.json(), { closeDate: '2026-01-31', version: 4 });

      for (const ifMatch of ['abc', '"', '*', '"4", "5"']) {
        problem(t, await alice.patch(deal.id, { title: 'bad precondition' }, { 'if-match': ifMatch }), 428, 'STRATA_REQUEST_PRECONDITION_INVALID');
      }

      const current = await alice.get(`/deals/${deal.id}`);
      t.match(current.json(), { title: deal.title, amount: '99.90', closeDate: '2026-01-31', version: 4 }, 'refused edits changed nothing');
      t.equal(current.headers.etag, '"4"');
    });

    t.test('DELETE answers 204, after which the deal is gone', async (t) => {
      const deal = await alice.create();
      problem(t, await alice.delete(deal.id, { 'if-match': '"7"' }), 409, 'STRATA_RESOURCE_VERSION_CONFLICT');
      t.equal((await alice.get(`/deals/${deal.id}`)).statusCode, 200, 'a stale delete deletes nothing');

      const res = await alice.delete(deal.id, { 'if-match': '"1"' });
      t.equal(res.statusCode, 204);
      t.equal(res.payload, '');
      problem(t, await alice.get(`/deals/${deal.id}`), 404, 'STRATA_RESOURCE_NOT_FOUND');
      problem(t, await alice.delete(deal.id), 404, 'STRATA_RESOURCE_NOT_FOUND');
      problem(t, await alice.patch(deal.id, { title: 'back' }), 404, 'STRATA_RESOURCE_NOT_FOUND');

      const unchecked = await alice.create();
      t.equal((await alice.delete(unchecked.id)).statusCode, 204, 'If-Match is optional');
      t.same(await alice.ids(), []);
    });

    t.test("A's token never reaches B's deals: 404, as for an id that exists nowhere", async (t) => {
      const mine = await alice.create({ title: 'A deal' });
      const theirs = await bob.create({ title: 'B deal', stage: 'won' });
      const unknown = randomUUID();

      const attempts = (id: string) => [
        alice.get(`/deals/${id}`),
        alice.patch(id, { title: 'hijacked' }),
        alice.patch(id, { title: 'hijacked' }, { 'if-match': '"1"' }),
        alice.delete(id, { 'if-match': '"1"' }),
        alice.delete(id),
      ];
      const forB = await Promise.all(attempts(theirs.id));
      const forUnknown = await Promise.all(attempts(unknown));
      forB.forEach((res, i) => {
        problem(t, res, 404, 'STRATA_RESOURCE_NOT_FOUND');
        t.same(res.json(), forUnknown[i]!.json(), 'indistinguishable from an unknown id');
      });

      t.same((await bob.get(`/deals/${theirs.id}`)).json(), theirs, "B's deal is unchanged");
      t.same(await alice.ids(), [mine.id]);
      t.same(await alice.ids('stage=won'), [], "filters never reach B's rows");
      t.same(await alice.ids(`ownerId=${bobUser.id}`), []);
      t.same(await bob.ids(), [theirs.id]);
    });

    t.test("leadId and ownerId naming nothing in this tenant are refused alike, whether or not they are B's", async (t) => {
      const aLead = await lead(a);
      const bLead = await lead(b);

      const linked = await alice.post({ title: 'linked', amount: '1', currency: 'EUR', leadId: aLead.id });
      t.equal(linked.statusCode, 201, "A's own lead is a valid reference");
      t.equal(linked.json().leadId, aLead.id);

      for (const [field, foreignId] of [
        ['leadId', bLead.id],
        ['ownerId', bobUser.id],
      ] as const) {
        const unknown = await alice.post({ title: 'x', amount: '1', currency: 'EUR', [field]: randomUUID() });
        const body = problem(t, unknown, 400, 'STRATA_REQUEST_INVALID', `unknown ${field}`);
        t.equal(body.errors?.[0]?.field, `body.${field}`);
        const foreign = await alice.post({ title: 'x', amount: '1', currency: 'EUR', [field]: foreignId });
        t.equal(foreign.statusCode, 400);
        t.same(foreign.json(), body, `B's ${field} reveals nothing beyond an unknown id`);
        t.same(foreign.headers['content-type'], unknown.headers['content-type']);

        const patched = await alice.patch(linked.json().id, { [field]: foreignId });
        t.same(patched.json(), body, 'PATCH refuses it alike');
      }
      t.same(await alice.ids(), [linked.json().id], 'nothing else was written');
      t.same((await alice.get(`/deals/${linked.json().id}`)).json(), linked.json(), 'the refused patches changed nothing');
      t.same(await alice.ids(`leadId=${bLead.id}`), [], "filtering by B's lead finds nothing");
      t.equal(await db(b).deal.count(), 0, 'nothing was written to B');
    });

    t.test('bad input is a problem and writes nothing', async (t) => {
      const deal = await alice.create({ title: 'Untouched' });
      const long = 'x'.repeat(201);
      const json = { 'content-type': 'application/json' };
      const valid = { title: 'x', amount: '1', currency: 'EUR' };
      const cursor = (raw: string) => `/deals?cursor=${Buffer.from(raw).toString('base64url')}`;
      const post = (fields: Record<string, unknown>) => alice.post({ ...valid, ...fields });
      const invalid = 'STRATA_REQUEST_INVALID';
      const cases: [string, () => Promise<LightMyRequestResponse>, number, string][] = [
        ['an unknown field (tenantId)', () => post({ tenantId: b.id }), 400, invalid],
        ['an unknown field (id)', () => post({ id: randomUUID() }), 400, invalid],
        ['an unknown field (version)', () => post({ version: 9 }), 400, invalid],
        ['no title', () => alice.post({ amount: '1', currency: 'EUR' }), 400, invalid],
        ['no amount', () => alice.post({ title: 'x', currency: 'EUR' }), 400, invalid],
        ['no currency', () => alice.post({ title: 'x', amount: '1' }), 400, invalid],
        ['a number as title', () => post({ title: 42 }), 400, invalid],
        ['an empty title', () => post({ title: '' }), 400, invalid],
        ['a blank title', () => post({ title: '   ' }), 400, invalid],
        ['a title of 201 characters', () => post({ title: long }), 400, invalid],
        ['a NUL in the title', () => post({ title: 'a\u0000b' }), 400, invalid],
        ['a JSON number as amount', () => post({ amount: 12.5 }), 400, invalid],
        ['a negative amount', () => post({ amount: '-1' }), 400, invalid],
        ['an amount with 3 decimals', () => post({ amount: '1.005' }), 400, invalid],
        ['an amount with 17 integer digits', () => post({ amount: '12345678901234567' }), 400, invalid],
        ['an amount in exponent notation', () => post({ amount: '1e3' }), 400, invalid],
        ['an amount with spaces', () => post({ amount: ' 12' }), 400, invalid],
        ['an amount ending in a dot', () => post({ amount: '12.' }), 400, invalid],
        ['an amount starting with a dot', () => post({ amount: '.5' }), 400, invalid],
        ['an amount with a thousands separator', () => post({ amount: '1,000' }), 400, invalid],
        ['an empty amount', () => post({ amount: '' }), 400, invalid],
        ['NaN as amount', () => post({ amount: 'NaN' }), 400, invalid],
        ['a lowercase currency', () => post({ currency: 'eur' }), 400, invalid],
        ['a 4-letter currency', () => post({ currency: 'EURO' }), 400, invalid],
        ['a 2-letter currency', () => post({ currency: 'EU' }), 400, invalid],
        ['a currency with a digit', () => post({ currency: 'E1R' }), 400, invalid],
        ['an unknown stage', () => post({ stage: 'open' }), 400, invalid],
        ['a non-uuid leadId', () => post({ leadId: 'lead-1' }), 400, invalid],
        ['a non-uuid ownerId', () => post({ ownerId: 'me' }), 400, invalid],
        ['an impossible closeDate', () => post({ closeDate: '2025-02-29' }), 400, invalid],
        ['a closeDate without padding', () => post({ closeDate: '2025-1-1' }), 400, invalid],
        ['a closeDate with a time', () => post({ closeDate: '2025-01-01T00:00:00Z' }), 400, invalid],
        ['a closeDate in year 0000', () => post({ closeDate: '0000-01-01' }), 400, invalid],
        ['a number as closeDate', () => post({ closeDate: 20250101 }), 400, invalid],
        ['a JSON array body', () => alice.post([valid]), 400, invalid],
        ['malformed JSON', () => alice.post('{"title": "x"', json), 400, 'STRATA_REQUEST_MALFORMED'],
        ['an empty JSON body', () => alice.post('', json), 400, 'STRATA_REQUEST_MALFORMED'],
        ['limit=101', () => alice.get('/deals?limit=101'), 400, invalid],
        ['limit=0', () => alice.get('/deals?limit=0'), 400, invalid],
        ['limit=abc', () => alice.get('/deals?limit=abc'), 400, invalid],
        ['limit=1.5', () => alice.get('/deals?limit=1.5'), 400, invalid],
        ['an unknown query parameter', () => alice.get('/deals?tenantId=x'), 400, invalid],
        ['an unknown stage filter', () => alice.get('/deals?stage=open'), 400, invalid],
        ['a non-uuid leadId filter', () => alice.get('/deals?leadId=x'), 400, invalid],
        ['a non-uuid ownerId filter', () => alice.get('/deals?ownerId=me'), 400, invalid],
        ['a garbage cursor', () => alice.get('/deals?cursor=garbage'), 400, invalid],
        ['a cursor over 200 characters', () => alice.get(`/deals?cursor=${long}`), 400, invalid],
        ['a cursor dated before PostgreSQL time', () => alice.get(cursor(`-100000-01-01T00:00:00.000Z|${randomUUID()}`)), 400, invalid],
        ['a cursor whose id is not a uuid', () => alice.get(cursor(`2025-01-01T00:00:00.000Z|${'-'.repeat(36)}`)), 400, invalid],
        ['a non-uuid id to GET', () => alice.get('/deals/not-a-uuid'), 400, invalid],
        ['a non-uuid id to PATCH', () => alice.patch('not-a-uuid', { title: 'x' }), 400, invalid],
        ['a non-uuid id to DELETE', () => alice.delete('not-a-uuid'), 400, invalid],
        ['an unknown field to PATCH', () => alice.patch(deal.id, { title: 'x', tenantId: b.id }), 400, invalid],
        ['a version to PATCH', () => alice.patch(deal.id, { version: 9 }), 400, invalid],
        ['a null title to PATCH', () => alice.patch(deal.id, { title: null }), 400, invalid],
        ['a null amount to PATCH', () => alice.patch(deal.id, { amount: null }), 400, invalid],
        ['a null currency to PATCH', () => alice.patch(deal.id, { currency: null }), 400, invalid],
        ['a null stage to PATCH', () => alice.patch(deal.id, { stage: null }), 400, invalid],
        ['a negative amount to PATCH', () => alice.patch(deal.id, { amount: '-5' }), 400, invalid],
        ['malformed JSON to PATCH', () => alice.patch(deal.id, '{', json), 400, 'STRATA_REQUEST_MALFORMED'],
      ];
      // Not subtests: the wipe before each scenario would run before each case too.
      for (const [name, send, status, code] of cases) {
        problem(t, await send(), status, code, name);
        t.same(await alice.ids(), [deal.id], `${name}: A still holds exactly its one deal`);
        t.same(await bob.ids(), [], `${name}: and B none`);
      }
      t.same((await alice.get(`/deals/${deal.id}`)).json(), deal, 'refused patches changed nothing');
    });

    t.test('staff see and change only the deals they own; others are 404, like another tenant', async (t) => {
      const mine = await sam.create({ title: "Sam's" });
      const given = await alice.create({ title: 'given to Sam', ownerId: samUser.id });
      const hers = await alice.create({ title: "Sue's", ownerId: sueUser.id });
      const managers = await alice.create({ title: "Alice's" });
      const unowned = await alice.create({ title: 'nobody', ownerId: null });
      t.equal(mine.ownerId, samUser.id);

      t.same(sorted(await sam.ids()), sorted([mine.id, given.id]), 'Sam lists his own');
      t.same(sorted(await sam.ids('limit=1')), sorted([mine.id, given.id]), 'across pages too');
      t.same(await sue.ids(), [hers.id], 'Sue lists hers');
      t.same(await sam.ids(`ownerId=${sueUser.id}`), [], "filtering by Sue's id shows Sam nothing");
      t.same(sorted(await alice.ids()), sorted([mine.id, given.id, hers.id, managers.id, unowned.id]), 'a manager sees all');

      const unknown = randomUUID();
      for (const other of [hers, managers, unowned]) {
        const attempts = (id: string) => [sam.get(`/deals/${id}`), sam.patch(id, { title: 'taken' }), sam.patch(id, { title: 'taken' }, { 'if-match': '"1"' })];
        const forOther = await Promise.all(attempts(other.id));
        const forUnknown = await Promise.all(attempts(unknown));
        forOther.forEach((res, i) => {
          problem(t, res, 404, 'STRATA_RESOURCE_NOT_FOUND', `${other.title} to Sam`);
          t.same(res.json(), forUnknown[i]!.json(), 'indistinguishable from an unknown id');
        });
        t.same((await alice.get(`/deals/${other.id}`)).json(), other, `${other.title} is unchanged`);
      }

      const edited = await sam.patch(mine.id, { stage: 'won', ownerId: samUser.id }, { 'if-match': '"1"' });
      t.equal(edited.statusCode, 200, 'Sam edits his own, naming himself as owner');
      t.match(edited.json(), { stage: 'won', ownerId: samUser.id, version: 2 });
      t.equal((await sam.get(`/deals/${given.id}`)).statusCode, 200, 'and reads the one given to him');
    });

    t.test('staff cannot delete, nor give a deal to someone else (403)', async (t) => {
      const mine = await sam.create();
      const hers = await alice.create({ ownerId: sueUser.id });

      for (const [label, send] of [
        ['delete own', () => sam.delete(mine.id)],
        ['delete own, versioned', () => sam.delete(mine.id, { 'if-match': '"1"' })],
        ["delete Sue's", () => sam.delete(hers.id)],
        ['give own to Sue', () => sam.patch(mine.id, { ownerId: sueUser.id })],
        ['create for Sue', () => sam.post({ title: 'for Sue', amount: '1', currency: 'EUR', ownerId: sueUser.id })],
      ] as const) {
        const body = problem(t, await send(), 403, 'STRATA_AUTH_FORBIDDEN', label);
        t.equal(body.title, 'Your role does not allow this');
      }
      t.same((await sam.get(`/deals/${mine.id}`)).json(), mine, "Sam's deal is unchanged");
      t.same((await alice.get(`/deals/${hers.id}`)).json(), hers, "Sue's deal is unchanged");
      t.same(sorted(await alice.ids()), sorted([mine.id, hers.id]), 'nothing was written or deleted');
    });

    t.test('staff link deals only to leads they see; others are refused as unknown', async (t) => {
      const owned = await lead(a, { ownerId: samUser.id });
      const assigned = await lead(a, { ownerId: sueUser.id, assigneeId: samUser.id });
      const hidden = await lead(a, { ownerId: sueUser.id });

      for (const visible of [owned, assigned]) {
        t.equal((await sam.create({ leadId: visible.id })).leadId, visible.id);
      }
      const unknown = await sam.post({ title: 'x', amount: '1', currency: 'EUR', leadId: randomUUID() });
      const body = problem(t, unknown, 400, 'STRATA_REQUEST_INVALID');
      t.equal(body.errors?.[0]?.field, 'body.leadId');
      const refused = await sam.post({ title: 'x', amount: '1', currency: 'EUR', leadId: hidden.id });
      t.same(refused.json(), body, "Sue's lead reads as unknown to Sam");

      const mine = await sam.create();
      t.same((await sam.patch(mine.id, { leadId: hidden.id })).json(), body, 'PATCH refuses it alike');
      t.equal((await sam.get(`/deals/${mine.id}`)).json().leadId, null);
      t.equal((await alice.create({ leadId: hidden.id })).leadId, hidden.id, 'a manager links any lead of the tenant');
      t.equal((await alice.ids()).length, 4);
    });

    t.test('managers and owners reassign and delete any deal; the old owner loses sight of it', async (t) => {
      const { api: owner } = await member(a, 'owner');
      const dealt = await sam.create();
      const moved = await alice.patch(dealt.id, { ownerId: sueUser.id });
      t.equal(moved.statusCode, 200);
      t.equal(moved.json().ownerId, sueUser.id);
      problem(t, await sam.get(`/deals/${dealt.id}`), 404, 'STRATA_RESOURCE_NOT_FOUND');
      t.same(await sue.ids(), [dealt.id]);
      t.same(await sam.ids(), []);

      t.equal((await owner.patch(dealt.id, { ownerId: null })).json().ownerId, null, 'an owner unassigns it');
      t.equal((await owner.delete(dealt.id, { 'if-match': '"3"' })).statusCode, 204);
      const other = await sam.create();
      t.equal((await alice.delete(other.id)).statusCode, 204, 'a manager deletes it');
      t.same(await alice.ids(), []);
    });

    t.test('a staff token naming no user of the tenant sees nothing (and is no 500)', async (t) => {
      const l = await lead(a);
      const existing = await alice.create({ leadId: l.id });
      for (const sub of [randomUUID(), bobUser.id]) {
        const stranger = as(signAccessToken(platform.config.jwt, { sub, tid: a.id, role: 'staff' }));
        const res = await stranger.get('/deals');
        t.equal(res.statusCode, 200, sub);
        t.same(res.json(), { items: [], nextCursor: null });
        problem(t, await stranger.get(`/deals/${existing.id}`), 404, 'STRATA_RESOURCE_NOT_FOUND', `${sub} reads`);
        const linked = await stranger.post({ title: 'x', amount: '1', currency: 'EUR', leadId: l.id });
        t.equal(problem(t, linked, 400, 'STRATA_REQUEST_INVALID', `${sub} links`).errors?.[0]?.field, 'body.leadId');
      }
      t.same(await alice.ids(), [existing.id]);
    });
  });
}

// Regression: a cursor dated in year 0000 parsed, and PostgreSQL (which has no year 0) answered 500.
t.test('a keyset cursor dated in year 0000 is refused as invalid', async (t) => {
  const alice = as(tokenFor(platform, pairs.pooled.a));
  const cursor = Buffer.from(`0000-01-01T00:00:00.000Z|${randomUUID()}`).toString('base64url');
  const res = await alice.get(`/deals?cursor=${cursor}`);
  t.equal(res.statusCode, 400, 'answers 400');
});

// Regression: deleting a lead that deals still reference answered 500 (the foreign key refused).
t.test('a lead referenced by a deal cannot be deleted: 409, and nothing changes', async (t) => {
  for (const tier of tiers) {
    const manager = as(tokenFor(platform, pairs[tier].a, 'manager'));
    const l = await lead(pairs[tier].a);
    const deal = (await manager.post({ title: 'keeps its lead', amount: '10', currency: 'EUR', leadId: l.id })).json();
    const refused = await app.inject({ method: 'DELETE', url: `/leads/${l.id}`, headers: bearer(tokenFor(platform, pairs[tier].a, 'manager')) });
    problem(t, refused, 409, 'STRATA_RESOURCE_IN_USE', `${tier}: refused`);
    t.equal((await manager.get(`/deals/${deal.id}`)).json().leadId, l.id, `${tier}: the deal keeps its lead`);
  }
});
