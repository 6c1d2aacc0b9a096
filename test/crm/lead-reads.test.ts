/**
 * Lead reads go around Prisma (src/router/tenant-sql.ts). They must return exactly what Prisma
 * returns for the same rows, stay inside the tenant on every tier, and fail like Prisma when the
 * tenant's database is unreachable.
 */
import t from 'tap';
import type { RecordScope } from '../../src/auth/permissions.js';
import { RecordNotFoundError } from '../../src/records/record-errors.js';
import { getLead, leadScope, listLeads } from '../../src/crm/leads/lead-store.js';
import { TenantDatabaseUnreachableError } from '../../src/router/tenant-sql.js';
import { createUser } from '../../src/users/user-store.js';
import { provision, startTestPlatform, tenantPairs, tiers } from '../helper.js';

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);
const all: RecordScope = { kind: 'all' };

for (const tier of tiers) {
  t.test(`${tier}: raw reads equal Prisma's and stay in the tenant`, async (t) => {
    const { a, b } = pairs[tier];
    const dbA = platform.router.clientFor(a);
    const dbB = platform.router.clientFor(b);
    const users = [];
    for (const name of ['ann', 'bob']) {
      const { user } = await createUser(
        { db: dbA, catalog: platform.catalog, tenantId: a.id },
        { email: `${name}-${tier}@example.com`, name, role: 'staff', password: 'correct horse battery' },
      );
      users.push(user);
    }
    const [ann, bob] = users as [(typeof users)[0], (typeof users)[0]];
    // Every column set, nulls too, and equal timestamps so the cursor's tie-break on id is used.
    const at = new Date('2026-11-22T10:00:00.123Z');
    await dbA.lead.createMany({
      data: Array.from({ length: 25 }, (_, i) => ({
        name: `lead ${i}`,
        company: i % 2 ? `company ${i}` : null,
        email: i % 3 ? `l${i}@example.com` : null,
        phone: i % 4 ? '+1 555 0100' : null,
        source: i % 5 ? 'web' : null,
        status: i % 2 ? ('qualified' as const) : ('new' as const),
        ownerId: i % 3 === 0 ? ann.id : bob.id,
        assigneeId: i % 4 === 0 ? ann.id : null,
        createdAt: i < 10 ? at : new Date(at.getTime() + i * 1000),
      })),
    });
    // The same ids in tenant B, with other contents: only A's may come back.
    const ids = (await dbA.lead.findMany({ select: { id: true } })).map((l) => l.id);
    await dbB.lead.createMany({ data: ids.map((id) => ({ id, name: 'B' })) });

    for (const id of ids) t.same(await getLead(dbA, all, id), await dbA.lead.findFirst({ where: { id } }));

    const scopes: RecordScope[] = [all, { kind: 'own', userId: ann.id }, { kind: 'own', userId: bob.id }];
    const filters = [{}, { status: 'qualified' as const }, { ownerId: bob.id }, { assigneeId: ann.id }];
    for (const scope of scopes) {
      for (const filter of filters) {
        const expected = await dbA.lead.findMany({
          where: { ...filter, ...leadScope(scope) },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
        const seen = [];
        let cursor: string | undefined;
        do {
          const page = await listLeads(dbA, scope, { limit: 4, cursor, ...filter });
          seen.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        t.same(seen, expected, `${scope.kind} ${JSON.stringify(filter)}: pages in Prisma's order, with Prisma's values`);
      }
    }

    const annLeads = (await listLeads(dbA, { kind: 'own', userId: ann.id }, { limit: 100 })).items;
    const outOfScope = ids.find((id) => !annLeads.some((l) => l.id === id))!;
    await t.rejects(getLead(dbA, { kind: 'own', userId: ann.id }, outOfScope), RecordNotFoundError, 'out of scope is not found');

    const onlyB = await dbB.lead.create({ data: { name: 'B only' } });
    await t.rejects(getLead(dbA, all, onlyB.id), RecordNotFoundError, "another tenant's lead is not found");
    t.ok((await listLeads(dbA, all, { limit: 100 })).items.every((l) => l.tenantId === a.id && l.name !== 'B'));
    t.same((await listLeads(dbB, all, { limit: 100 })).items.map((l) => l.name).sort(), [...ids.map(() => 'B'), 'B only']);
  });
}

t.test('an unreachable tenant database is reported as such, not as a bug', async (t) => {
  const tenant = await provision(platform, 'dedicated', 'lost');
  const gone = { ...tenant, databaseName: `${tenant.databaseName}_missing` };
  await t.rejects(getLead(platform.router.clientFor(gone), all, crypto.randomUUID()), TenantDatabaseUnreachableError);
});
