import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import type { z } from 'zod';
import { signAccessToken, type AccessClaims } from '../../src/auth/tokens.js';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import type { activityOutput } from '../../src/crm/activities/activity-schemas.js';
import { startTestPlatform, tenantPairs, testApp, tiers, tokenFor, userWithToken } from '../helper.js';
import { uuidPattern } from '../../src/tenants/placement.js';
import { problem, resourceClient } from './resource-client.js';

type Activity = z.infer<typeof activityOutput>;
type Role = AccessClaims['role'];

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);
const app = await testApp(t, platform);

const db = (tenant: Tenant) => platform.router.clientFor(tenant);

/** Requests to /activities with `token`. */
function as(token: string) {
  const api = resourceClient<Activity>(app, token, '/activities');
  return {
    ...api,
    /** An activity on `on` (a leadId and/or a dealId). */
    create: (on: { leadId?: string; dealId?: string }, fields: Record<string, unknown> = {}) =>
      api.created({ kind: 'note', body: 'Spoke about engines', ...on, ...fields }),
  };
}

/** A user of `tenant` with `role`, and its API. */
async function member(tenant: Tenant, role: Role) {
  const { user, token } = await userWithToken(platform, tenant, role);
  return { user, api: as(token) };
}

const lead = (tenant: Tenant, fields: { ownerId?: string; assigneeId?: string } = {}) => db(tenant).lead.create({ data: { name: 'A lead', ...fields } });
const deal = (tenant: Tenant, fields: { ownerId?: string; leadId?: string } = {}) =>
  db(tenant).deal.create({ data: { title: 'A deal', amount: '10', currency: 'EUR', ...fields } });

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

    t.test('create answers 201 with the activity and its Location, never its tenant', async (t) => {
      const l = await lead(a);
      const d = await deal(a, { leadId: l.id });
      const input = { kind: 'call', body: '  Called Ada.\n\n  - wants 3 engines', leadId: l.id, dealId: d.id, occurredAt: '2025-03-01T10:00:00+02:00' };
      const res = await alice.post(input);
      t.equal(res.statusCode, 201);
      const activity: Activity = res.json();
      t.match(activity, { ...input, authorId: aliceUser.id, occurredAt: '2025-03-01T08:00:00.000Z' });
      t.equal(activity.body, input.body, 'the body is kept verbatim');
      t.match(activity.id, uuidPattern);
      t.equal(res.headers.location, `/activities/${activity.id}`);
      t.notOk('tenantId' in activity);
      t.notOk(res.payload.includes(a.id), "the tenant's id appears nowhere in the body");

      const before = Date.now();
      const onLead = await alice.create({ leadId: l.id }, { kind: 'meeting' });
      t.match(onLead, { kind: 'meeting', leadId: l.id, dealId: null });
      t.ok(Date.parse(onLead.occurredAt) >= before - 1000 && Date.parse(onLead.occurredAt) <= Date.now(), 'occurredAt defaults to now');
      t.match(await alice.create({ dealId: d.id }, { kind: 'email' }), { kind: 'email', leadId: null, dealId: d.id });

      const got = await alice.get(`/activities/${activity.id}`);
      t.equal(got.statusCode, 200);
      t.same(got.json(), activity);
      t.equal((await alice.ids()).length, 3);
    });

    t.test('the author is the caller only when the caller is a user of this tenant', async (t) => {
      const l = await lead(a);
      t.equal((await alice.create({ leadId: l.id })).authorId, aliceUser.id);
      const operator = as(tokenFor(platform, a, 'owner'));
      t.equal((await operator.create({ leadId: l.id })).authorId, null, 'a token naming no user: no author');
      const foreign = as(signAccessToken(platform.config.jwt, { sub: bobUser.id, tid: a.id, role: 'manager' }));
      t.equal((await foreign.create({ leadId: l.id })).authorId, null, "a token naming B's user for A: no author");
      problem(t, await alice.post({ kind: 'note', body: 'x', leadId: l.id, authorId: samUser.id }), 400, 'STRATA_REQUEST_INVALID', 'authorId is not an input');
      t.equal((await alice.ids()).length, 3);
    });

    t.test('listing pages by occurrence, newest first, each activity exactly once', async (t) => {
      const l = await lead(a);
      // Created in one order, occurred in another: the list follows occurredAt.
      const occurred = ['2025-01-03', '2025-01-01', '2025-01-05', '2025-01-02', '2025-01-04'];
      const byOccurrence = new Map<string, string>();
      for (const day of occurred) {
        byOccurrence.set(day, (await alice.create({ leadId: l.id }, { occurredAt: `${day}T12:00:00Z` })).id);
      }
      const expected = occurred
        .toSorted()
        .toReversed()
        .map((day) => byOccurrence.get(day)!);
      const pages = await alice.pages('limit=2');
      t.same(
        pages.map((p) => p.length),
        [2, 2, 1],
      );
      t.same(
        pages.flat().map((a) => a.id),
        expected,
      );
      t.same(
        (await alice.pages('limit=4')).map((p) => p.length),
        [4, 1],
      );
      t.same(
        (await alice.pages('limit=5')).map((p) => p.length),
        [5],
        'a page that holds everything has no next cursor',
      );
      t.same(
        (await alice.pages('')).flat().map((a) => a.id),
        expected,
        'the default limit holds them all',
      );
    });

    t.test('the default page holds 20 and a page at most 100', async (t) => {
      const l = await lead(a);
      await db(a).activity.createMany({ data: Array.from({ length: 101 }, (_, i) => ({ kind: 'note' as const, body: `n${i}`, leadId: l.id })) });
      t.same(
        (await alice.pages('')).map((p) => p.length),
        [20, 20, 20, 20, 20, 1],
      );
      const byHundred = await alice.pages('limit=100');
      t.same(
        byHundred.map((p) => p.length),
        [100, 1],
      );
      t.equal(new Set(byHundred.flat().map((a) => a.id)).size, 101, 'every activity exactly once');
    });

    t.test('activities that occurred in the same millisecond are each listed once', async (t) => {
      const l = await lead(a);
      const occurredAt = new Date('2025-01-01T00:00:00.000Z');
      for (let i = 0; i < 5; i++) await db(a).activity.create({ data: { kind: 'note', body: `tied ${i}`, leadId: l.id, occurredAt } });
      const listed = (await alice.pages('limit=2')).flat().map((a) => a.id);
      t.equal(listed.length, 5);
      t.equal(new Set(listed).size, 5);
      t.same(listed, listed.toSorted().toReversed(), 'ties are ordered by id, descending');
    });

    t.test('listing filters by lead, deal and kind, alone and together, across pages', async (t) => {
      const l1 = await lead(a);
      const l2 = await lead(a);
      const d1 = await deal(a);
      const callL1 = await alice.create({ leadId: l1.id }, { kind: 'call' });
      const noteL1D1 = await alice.create({ leadId: l1.id, dealId: d1.id }, { kind: 'note' });
      const callD1 = await alice.create({ dealId: d1.id }, { kind: 'call' });
      const emailL2 = await alice.create({ leadId: l2.id }, { kind: 'email' });

      t.same(sorted(await alice.ids(`leadId=${l1.id}&limit=1`)), sorted([callL1.id, noteL1D1.id]));
      t.same(sorted(await alice.ids(`dealId=${d1.id}&limit=1`)), sorted([noteL1D1.id, callD1.id]));
      t.same(sorted(await alice.ids('kind=call&limit=1')), sorted([callL1.id, callD1.id]));
      t.same(await alice.ids(`leadId=${l1.id}&dealId=${d1.id}`), [noteL1D1.id]);
      t.same(await alice.ids(`leadId=${l1.id}&kind=call`), [callL1.id]);
      t.same(await alice.ids(`leadId=${l2.id}&kind=call`), []);
      t.same(await alice.ids('kind=meeting'), []);
      t.same(await alice.ids(`dealId=${randomUUID()}`), []);
      t.same(await alice.ids('kind=email'), [emailL2.id]);
      t.equal((await alice.ids()).length, 4);
    });

    t.test('PATCH changes body, kind and occurredAt, and nothing else', async (t) => {
      const l = await lead(a);
      const activity = await alice.create({ leadId: l.id }, { occurredAt: '2025-01-01T00:00:00Z' });

      const res = await alice.patch(activity.id, { body: 'Rewritten', kind: 'meeting', occurredAt: '2025-02-02T09:30:00.5Z' });
      t.equal(res.statusCode, 200);
      const expected = { ...activity, body: 'Rewritten', kind: 'meeting', occurredAt: '2025-02-02T09:30:00.500Z' };
      t.same(res.json(), expected);
      t.same((await alice.get(`/activities/${activity.id}`)).json(), expected, 'as stored');

      const partial = await alice.patch(activity.id, { kind: 'email' });
      t.same(partial.json(), { ...expected, kind: 'email' }, 'an absent field stays');
      t.same((await sam.call('PATCH', `/activities/${randomUUID()}`, { kind: 'email' })).statusCode, 404);
    });

    t.test('DELETE answers 204, after which the activity is gone; deleting a deal deletes its activities', async (t) => {
      const l = await lead(a);
      const activity = await alice.create({ leadId: l.id });
      const res = await alice.delete(activity.id);
      t.equal(res.statusCode, 204);
      t.equal(res.payload, '');
      problem(t, await alice.get(`/activities/${activity.id}`), 404, 'STRATA_RESOURCE_NOT_FOUND');
      problem(t, await alice.delete(activity.id), 404, 'STRATA_RESOURCE_NOT_FOUND');
      problem(t, await alice.patch(activity.id, { body: 'back' }), 404, 'STRATA_RESOURCE_NOT_FOUND');

      const d = await deal(a);
      const kept = await alice.create({ leadId: l.id });
      await alice.create({ dealId: d.id });
      const dealDeleted = await alice.call('DELETE', `/deals/${d.id}`);
      t.equal(dealDeleted.statusCode, 204);
      t.same(await alice.ids(), [kept.id], "the deal's activities went with it");
    });

    t.test("A's token never reaches B's activities: 404, as for an id that exists nowhere", async (t) => {
      const aLead = await lead(a);
      const bLead = await lead(b);
      const mine = await alice.create({ leadId: aLead.id }, { kind: 'call' });
      const theirs = await bob.create({ leadId: bLead.id }, { kind: 'call', body: 'B secret' });
      const unknown = randomUUID();

      const attempts = (id: string) => [alice.get(`/activities/${id}`), alice.patch(id, { body: 'hijacked' }), alice.delete(id)];
      const forB = await Promise.all(attempts(theirs.id));
      const forUnknown = await Promise.all(attempts(unknown));
      forB.forEach((res, i) => {
        problem(t, res, 404, 'STRATA_RESOURCE_NOT_FOUND');
        t.same(res.json(), forUnknown[i]!.json(), 'indistinguishable from an unknown id');
      });

      t.same((await bob.get(`/activities/${theirs.id}`)).json(), theirs, "B's activity is unchanged");
      t.same(await alice.ids(), [mine.id]);
      t.same(await alice.ids('kind=call'), [mine.id], "filters never reach B's rows");
      t.same(await alice.ids(`leadId=${bLead.id}`), []);
      t.same(await bob.ids(), [theirs.id]);
    });

    t.test("leadId and dealId naming nothing in this tenant are refused alike, whether or not they are B's", async (t) => {
      const bLead = await lead(b);
      const bDeal = await deal(b);
      for (const [field, foreignId] of [
        ['leadId', bLead.id],
        ['dealId', bDeal.id],
      ] as const) {
        const unknown = await alice.post({ kind: 'note', body: 'x', [field]: randomUUID() });
        const body = problem(t, unknown, 400, 'STRATA_REQUEST_INVALID', `unknown ${field}`);
        t.equal(body.errors?.[0]?.field, `body.${field}`);
        const foreign = await alice.post({ kind: 'note', body: 'x', [field]: foreignId });
        t.equal(foreign.statusCode, 400);
        t.same(foreign.json(), body, `B's ${field} reveals nothing beyond an unknown id`);
      }
      const aLead = await lead(a);
      const half = await alice.post({ kind: 'note', body: 'x', leadId: aLead.id, dealId: bDeal.id });
      t.equal(half.json().errors?.[0]?.field, 'body.dealId', 'a valid lead does not carry a foreign deal');
      t.same(await alice.ids(), [], 'nothing was written to A');
      t.equal(await db(b).activity.count(), 0, 'nor to B');
    });

    t.test('bad input is a problem and writes nothing', async (t) => {
      const l = await lead(a);
      const activity = await alice.create({ leadId: l.id });
      const json = { 'content-type': 'application/json' };
      const valid = { kind: 'note', body: 'x', leadId: l.id };
      const cursor = (raw: string) => `/activities?cursor=${Buffer.from(raw).toString('base64url')}`;
      const post = (fields: Record<string, unknown>) => alice.post({ ...valid, ...fields });
      const invalid = 'STRATA_REQUEST_INVALID';
      const cases: [string, () => Promise<LightMyRequestResponse>, number, string][] = [
        ['neither leadId nor dealId', () => alice.post({ kind: 'note', body: 'x' }), 400, invalid],
        ['an unknown field (tenantId)', () => post({ tenantId: b.id }), 400, invalid],
        ['an unknown field (id)', () => post({ id: randomUUID() }), 400, invalid],
        ['an unknown field (createdAt)', () => post({ createdAt: '2025-01-01T00:00:00Z' }), 400, invalid],
        ['no kind', () => alice.post({ body: 'x', leadId: l.id }), 400, invalid],
        ['an unknown kind', () => post({ kind: 'sms' }), 400, invalid],
        ['no body', () => alice.post({ kind: 'note', leadId: l.id }), 400, invalid],
        ['an empty body', () => post({ body: '' }), 400, invalid],
        ['a blank body', () => post({ body: ' \n\t ' }), 400, invalid],
        ['a body of 10001 characters', () => post({ body: 'x'.repeat(10_001) }), 400, invalid],
        ['a NUL in the body', () => post({ body: 'a\u0000b' }), 400, invalid],
        ['a number as body', () => post({ body: 7 }), 400, invalid],
        ['a null leadId', () => post({ leadId: null }), 400, invalid],
        ['a non-uuid leadId', () => post({ leadId: 'lead-1' }), 400, invalid],
        ['a non-uuid dealId', () => post({ dealId: 'deal-1' }), 400, invalid],
        ['an occurredAt without a zone', () => post({ occurredAt: '2025-01-01T00:00:00' }), 400, invalid],
        ['a date as occurredAt', () => post({ occurredAt: '2025-01-01' }), 400, invalid],
        ['an impossible occurredAt', () => post({ occurredAt: '2025-02-30T00:00:00Z' }), 400, invalid],
        ['an occurredAt in year 0000', () => post({ occurredAt: '0000-06-01T00:00:00Z' }), 400, invalid],
        ['an occurredAt in year 0000 in UTC', () => post({ occurredAt: '0001-01-01T00:30:00+01:00' }), 400, invalid],
        ['an occurredAt in year 10000 in UTC', () => post({ occurredAt: '9999-12-31T23:30:00-01:00' }), 400, invalid],
        ['a number as occurredAt', () => post({ occurredAt: 1735689600000 }), 400, invalid],
        ['a JSON array body', () => alice.post([valid]), 400, invalid],
        ['malformed JSON', () => alice.post('{"kind": "note"', json), 400, 'STRATA_REQUEST_MALFORMED'],
        ['an empty JSON body', () => alice.post('', json), 400, 'STRATA_REQUEST_MALFORMED'],
        ['limit=101', () => alice.get('/activities?limit=101'), 400, invalid],
        ['limit=0', () => alice.get('/activities?limit=0'), 400, invalid],
        ['limit=abc', () => alice.get('/activities?limit=abc'), 400, invalid],
        ['an unknown query parameter', () => alice.get('/activities?authorId=x'), 400, invalid],
        ['an unknown kind filter', () => alice.get('/activities?kind=sms'), 400, invalid],
        ['a non-uuid leadId filter', () => alice.get('/activities?leadId=x'), 400, invalid],
        ['a non-uuid dealId filter', () => alice.get('/activities?dealId=x'), 400, invalid],
        ['a garbage cursor', () => alice.get('/activities?cursor=garbage'), 400, invalid],
        ['a cursor over 200 characters', () => alice.get(`/activities?cursor=${'x'.repeat(201)}`), 400, invalid],
        ['a cursor whose id is not a uuid', () => alice.get(cursor(`2025-01-01T00:00:00.000Z|${'-'.repeat(36)}`)), 400, invalid],
        ['a non-uuid id to GET', () => alice.get('/activities/not-a-uuid'), 400, invalid],
        ['a non-uuid id to PATCH', () => alice.patch('not-a-uuid', { body: 'x' }), 400, invalid],
        ['a non-uuid id to DELETE', () => alice.delete('not-a-uuid'), 400, invalid],
        ['a leadId to PATCH', () => alice.patch(activity.id, { leadId: l.id }), 400, invalid],
        ['a dealId to PATCH', () => alice.patch(activity.id, { dealId: randomUUID() }), 400, invalid],
        ['an authorId to PATCH', () => alice.patch(activity.id, { authorId: samUser.id }), 400, invalid],
        ['a null body to PATCH', () => alice.patch(activity.id, { body: null }), 400, invalid],
        ['a blank body to PATCH', () => alice.patch(activity.id, { body: '  ' }), 400, invalid],
        ['a null kind to PATCH', () => alice.patch(activity.id, { kind: null }), 400, invalid],
        ['a null occurredAt to PATCH', () => alice.patch(activity.id, { occurredAt: null }), 400, invalid],
        ['malformed JSON to PATCH', () => alice.patch(activity.id, '{', json), 400, 'STRATA_REQUEST_MALFORMED'],
      ];
      // Not subtests: the wipe before each scenario would run before each case too.
      for (const [name, send, status, code] of cases) {
        problem(t, await send(), status, code, name);
        t.same(await alice.ids(), [activity.id], `${name}: A still holds exactly its one activity`);
        t.same(await bob.ids(), [], `${name}: and B none`);
      }
      t.same((await alice.get(`/activities/${activity.id}`)).json(), activity, 'refused patches changed nothing');
      t.equal((await post({ body: 'x'.repeat(10_000) })).statusCode, 201, 'a body of 10000 characters is fine');
    });

    t.test('staff see and change what they wrote and what belongs to leads and deals they see; others are 404', async (t) => {
      const samLead = await lead(a, { ownerId: samUser.id });
      const assignedLead = await lead(a, { ownerId: sueUser.id, assigneeId: samUser.id });
      const sueLead = await lead(a, { ownerId: sueUser.id });
      const samDeal = await deal(a, { ownerId: samUser.id });
      const sueDeal = await deal(a, { ownerId: sueUser.id, leadId: samLead.id });

      const onSamLead = await alice.create({ leadId: samLead.id });
      const onAssignedLead = await alice.create({ leadId: assignedLead.id });
      const onSamDeal = await alice.create({ dealId: samDeal.id });
      const onBoth = await alice.create({ leadId: samLead.id, dealId: sueDeal.id });
      const onSueLead = await alice.create({ leadId: sueLead.id });
      const onSueDeal = await alice.create({ dealId: sueDeal.id });
      const bySamOnSueLead = await db(a).activity.create({
        data: { kind: 'note', body: 'written before a reassignment', leadId: sueLead.id, authorId: samUser.id },
      });
      const bySam = await sam.create({ leadId: samLead.id });
      t.equal(bySam.authorId, samUser.id);

      const samSees = [onSamLead, onAssignedLead, onSamDeal, onBoth, bySamOnSueLead, bySam].map((a) => a.id);
      t.same(sorted(await sam.ids()), sorted(samSees), 'Sam lists his');
      t.same(sorted(await sam.ids('limit=1')), sorted(samSees), 'across pages too');
      t.same(sorted(await sam.ids(`leadId=${sueLead.id}`)), [bySamOnSueLead.id], "on Sue's lead, only what he wrote");
      t.same(sorted(await sue.ids()), sorted([onAssignedLead, onBoth, onSueLead, onSueDeal, bySamOnSueLead].map((a) => a.id)), 'Sue lists hers');
      t.equal((await alice.ids()).length, 8, 'a manager sees all');

      const unknown = randomUUID();
      for (const other of [onSueLead, onSueDeal]) {
        const attempts = (id: string) => [sam.get(`/activities/${id}`), sam.patch(id, { body: 'taken' })];
        const forOther = await Promise.all(attempts(other.id));
        const forUnknown = await Promise.all(attempts(unknown));
        forOther.forEach((res, i) => {
          problem(t, res, 404, 'STRATA_RESOURCE_NOT_FOUND', "another's activity to Sam");
          t.same(res.json(), forUnknown[i]!.json(), 'indistinguishable from an unknown id');
        });
        t.same((await alice.get(`/activities/${other.id}`)).json(), other, 'unchanged');
      }

      for (const visible of [onAssignedLead, onSamDeal, onBoth]) {
        const edited = await sam.patch(visible.id, { body: 'Sam was here' });
        t.equal(edited.statusCode, 200);
        t.equal(edited.json().body, 'Sam was here');
      }
    });

    t.test('staff cannot delete (403), nor write on leads and deals they do not see', async (t) => {
      const samLead = await lead(a, { ownerId: samUser.id });
      const sueLead = await lead(a, { ownerId: sueUser.id });
      const sueDeal = await deal(a, { ownerId: sueUser.id });
      const mine = await sam.create({ leadId: samLead.id });
      const hers = await alice.create({ leadId: sueLead.id });

      for (const target of [mine, hers]) {
        const body = problem(t, await sam.delete(target.id), 403, 'STRATA_AUTH_FORBIDDEN');
        t.equal(body.title, 'Your role does not allow this');
      }

      for (const [field, hidden] of [
        ['leadId', sueLead.id],
        ['dealId', sueDeal.id],
      ] as const) {
        const unknown = problem(t, await sam.post({ kind: 'note', body: 'x', [field]: randomUUID() }), 400, 'STRATA_REQUEST_INVALID');
        const refused = await sam.post({ kind: 'note', body: 'x', [field]: hidden });
        t.same(refused.json(), unknown, `Sue's ${field} reads as unknown to Sam`);
        t.equal(unknown.errors?.[0]?.field, `body.${field}`);
      }
      t.same(sorted(await alice.ids()), sorted([mine.id, hers.id]), 'nothing was written or deleted');

      t.equal((await alice.delete(hers.id)).statusCode, 204, 'a manager deletes');
      t.equal((await alice.delete(mine.id)).statusCode, 204);
      t.same(await alice.ids(), []);
    });

    t.test('a staff token naming no user of the tenant sees nothing (and is no 500)', async (t) => {
      const l = await lead(a);
      const d = await deal(a);
      const existing = await alice.create({ leadId: l.id, dealId: d.id });
      for (const sub of [randomUUID(), bobUser.id]) {
        const stranger = as(signAccessToken(platform.config.jwt, { sub, tid: a.id, role: 'staff' }));
        const res = await stranger.get('/activities');
        t.equal(res.statusCode, 200, sub);
        t.same(res.json(), { items: [], nextCursor: null });
        problem(t, await stranger.get(`/activities/${existing.id}`), 404, 'STRATA_RESOURCE_NOT_FOUND', `${sub} reads`);
        problem(t, await stranger.patch(existing.id, { body: 'x' }), 404, 'STRATA_RESOURCE_NOT_FOUND', `${sub} edits`);
        for (const field of ['leadId', 'dealId'] as const) {
          const linked = await stranger.post({ kind: 'note', body: 'x', [field]: field === 'leadId' ? l.id : d.id });
          t.equal(problem(t, linked, 400, 'STRATA_REQUEST_INVALID', `${sub} links`).errors?.[0]?.field, `body.${field}`);
        }
      }
      t.same(await alice.ids(), [existing.id]);
    });
  });
}
