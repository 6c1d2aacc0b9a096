// Regression: Prisma batched findUnique calls of different tenants made in the same tick into one
// query bound to the first tenant, so the others read "not found".
import t from 'tap';
import { startTestPlatform, tenantPairs, tiers } from '../helper.js';

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);

for (const tier of tiers) {
  t.test(`${tier}: same-tick findUnique calls of two tenants each get their own row`, async (t) => {
    const { a, b } = pairs[tier];
    const [dbA, dbB] = [platform.router.clientFor(a), platform.router.clientFor(b)];
    const leadsA = await Promise.all([1, 2, 3].map((i) => dbA.lead.create({ data: { name: `A${i}` } })));
    const leadsB = await Promise.all([1, 2, 3].map((i) => dbB.lead.create({ data: { name: `B${i}` } })));
    const key = (tenantId: string, id: string) => ({ where: { tenantId_id: { tenantId, id } } });

    const interleaved = await Promise.all(leadsA.flatMap((la, i) => [dbA.lead.findUnique(key(a.id, la.id)), dbB.lead.findUnique(key(b.id, leadsB[i]!.id))]));
    t.same(
      interleaved.map((l) => l?.name),
      ['A1', 'B1', 'A2', 'B2', 'A3', 'B3'],
    );

    // Asking for the other tenant's key in the same tick still finds nothing, and changes nothing else.
    const crossed = await Promise.all([dbA.lead.findUnique(key(b.id, leadsB[0]!.id)), dbB.lead.findUnique(key(b.id, leadsB[0]!.id))]);
    t.same(
      crossed.map((l) => l?.name ?? null),
      [null, 'B1'],
    );
    await t.rejects(dbA.lead.findUniqueOrThrow(key(b.id, leadsB[1]!.id)));
  });
}

t.test('many tenants on every tier at once', async (t) => {
  const tenants = tiers.flatMap((tier) => [pairs[tier].a, pairs[tier].b]);
  const rows = await Promise.all(tenants.map((x) => platform.router.clientFor(x).lead.create({ data: { name: x.slug } })));
  const found = await Promise.all(
    tenants.map((x, i) => platform.router.clientFor(x).lead.findUnique({ where: { tenantId_id: { tenantId: x.id, id: rows[i]!.id } } })),
  );
  t.same(
    found.map((l) => l?.name),
    tenants.map((x) => x.slug),
  );
});
