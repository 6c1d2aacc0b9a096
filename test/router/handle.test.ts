// The tenant handle (src/router/tenant-handle.ts) binds Prisma's lazy promises when they start:
// everything a Prisma client offers must still run bound, on every tier, and the binding must
// not outlive the call in the caller's code.
import t from 'tap';
import { peekBinding } from '../../src/router/tenant-context.js';
import { startTestPlatform, tenantPairs, tiers } from '../helper.js';

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);

for (const tier of tiers) {
  t.test(`${tier}: fluent calls, raw queries, catch and finally, batch transactions and extensions all stay with the tenant`, async (t) => {
    const { a, b } = pairs[tier];
    const dbA = platform.router.clientFor(a);
    const dbB = platform.router.clientFor(b);
    // The same ids in both tenants: only the binding tells them apart.
    const leadId = crypto.randomUUID();
    const dealId = crypto.randomUUID();
    for (const [db, name] of [
      [dbA, 'A'],
      [dbB, 'B'],
    ] as const) {
      await db.lead.create({ data: { id: leadId, name: `${name} lead` } });
      await db.deal.create({ data: { id: dealId, title: `${name} deal`, amount: 10, currency: 'EUR', leadId } });
    }

    const fluent = await dbB.deal.findFirst({ where: { id: dealId } }).lead();
    t.equal(fluent?.name, 'B lead', 'a fluent relation call');

    const [raw] = await dbA.$queryRaw<{ name: string }[]>`SELECT name FROM leads WHERE id = ${leadId}::uuid`;
    t.equal(raw?.name, 'A lead', 'a tagged raw query');
    const [unsafe] = await dbB.$queryRawUnsafe<{ name: string }[]>('SELECT name FROM leads WHERE id = $1::uuid', leadId);
    t.equal(unsafe?.name, 'B lead', 'an unsafe raw query');

    const failed = await dbA.lead.create({ data: { id: leadId, name: 'again' } }).catch((err: { code?: string }) => err.code);
    t.equal(failed, 'P2002', 'catch sees the failure of its own tenant (the id exists in A)');
    let settled = false;
    const found = await dbB.lead.findFirst({ where: { id: leadId } }).finally(() => (settled = true));
    t.ok(settled && found?.name === 'B lead', 'finally');

    const [leads, deals] = await dbA.$transaction([dbA.lead.findMany(), dbA.deal.count()]);
    t.same([leads.map((l) => l.name), deals], [['A lead'], 1], 'a batch transaction');

    const extended = dbB.$extends({ query: { lead: { findMany: ({ args, query }) => query({ ...args, where: { ...args.where, id: leadId } }) } } });
    t.same(
      (await extended.lead.findMany()).map((l) => l.name),
      ['B lead'],
      "the caller's own extension runs bound",
    );

    t.equal(peekBinding(), undefined, 'no binding is left in the caller after its awaits');
    t.equal(await dbA.lead.count().then(() => peekBinding()), undefined, "callbacks chained on a call run in the caller's context");
  });
}
