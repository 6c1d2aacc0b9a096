import t from 'tap';
import { startTestPlatform, tenantPairs, tiers } from '../helper.js';

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);

for (const tier of tiers) {
  t.test(`${tier}: a tenant never sees, counts, updates or deletes another's rows`, async (t) => {
    const { a, b } = pairs[tier];
    const dbA = platform.router.clientFor(a);
    const dbB = platform.router.clientFor(b);

    // Same ids in both tenants: keys start with tenant_id, so neither insert learns of the other.
    const sharedId = crypto.randomUUID();
    await dbA.lead.create({ data: { id: sharedId, name: 'A lead', email: 'a@example.com' } });
    await dbB.lead.create({ data: { id: sharedId, name: 'B lead', email: 'b@example.com' } });
    const onlyB = await dbB.lead.create({ data: { name: 'B only' } });

    // No tenant filter anywhere: RLS alone decides.
    const seenByA = await dbA.lead.findMany();
    t.same(
      seenByA.map((l) => l.name),
      ['A lead'],
    );
    t.ok(seenByA.every((l) => l.tenantId === a.id));
    t.equal(await dbA.lead.count(), 1);
    t.equal(await dbA.lead.findFirst({ where: { id: onlyB.id } }), null);
    t.equal((await dbA.lead.findFirst({ where: { id: sharedId } }))?.name, 'A lead');

    const updated = await dbA.lead.updateMany({ data: { name: 'renamed by A' } });
    t.equal(updated.count, 1, 'an unfiltered update touches only A');
    t.equal((await dbA.lead.updateMany({ where: { id: onlyB.id }, data: { name: 'x' } })).count, 0);
    t.equal((await dbA.lead.deleteMany({ where: { id: onlyB.id } })).count, 0);
    await t.rejects(dbA.lead.update({ where: { tenantId_id: { tenantId: b.id, id: onlyB.id } }, data: { name: 'x' } }));

    const bRows = await dbB.lead.findMany({ orderBy: { name: 'asc' } });
    t.same(
      bRows.map((l) => l.name),
      ['B lead', 'B only'],
      "B's rows are untouched",
    );

    const raw = await dbA.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM leads`;
    t.equal(Number(raw[0]!.n), 1, 'raw SQL through the router is bound too');

    t.equal((await dbA.lead.deleteMany()).count, 1, 'an unfiltered delete removes only A');
    t.equal(await dbB.lead.count(), 2);
    await dbB.lead.deleteMany();
  });
}

t.test('tenants on different tiers are independent as well', async (t) => {
  const clients = tiers.map((tier) => ({ tenant: pairs[tier].a, db: platform.router.clientFor(pairs[tier].a) }));
  for (const { tenant, db } of clients) await db.lead.create({ data: { name: `lead of ${tenant.slug}` } });
  for (const { tenant, db } of clients)
    t.same(
      (await db.lead.findMany()).map((l) => l.name),
      [`lead of ${tenant.slug}`],
    );
});
