import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { startTestPlatform, tenantPairs, tiers } from '../helper.js';

// Few connections, many concurrent callers: connections are reused across tenants constantly.
const platform = await startTestPlatform(t, { STRATA_POOL_MAX: '2', STRATA_DEDICATED_POOL_MAX: '2' });
const pairs = await tenantPairs(platform);
const tenants: Tenant[] = tiers.flatMap((tier) => [pairs[tier].a, pairs[tier].b]);

t.test('concurrent mixed-tenant reads and writes on every tier return no foreign row', async (t) => {
  const created = new Map<string, Set<string>>(tenants.map((x) => [x.id, new Set()]));
  const foreign: string[] = [];
  let operations = 0;

  async function worker(seed: number) {
    for (let i = 0; i < 40; i++) {
      const tenant = tenants[(seed * 7 + i * 3) % tenants.length]!;
      const db = platform.router.clientFor(tenant);
      const check = (rows: { tenantId: string }[]) => {
        for (const row of rows) if (row.tenantId !== tenant.id) foreign.push(`${tenant.slug} saw ${row.tenantId}`);
      };
      switch (i % 4) {
        case 0: {
          const lead = await db.lead.create({ data: { name: `w${seed}-${i}` } });
          check([lead]);
          created.get(tenant.id)!.add(lead.id);
          break;
        }
        case 1:
          check(await db.lead.findMany({ take: 50 }));
          break;
        case 2:
          check(
            await db.$transaction(async (tx) => {
              const rows = await tx.lead.findMany({ take: 5 });
              await tx.lead.updateMany({ where: { id: { in: rows.map((r) => r.id) } }, data: { source: `w${seed}` } });
              return tx.lead.findMany({ where: { source: `w${seed}` } });
            }),
          );
          break;
        default:
          check(await db.lead.updateManyAndReturn({ data: { phone: String(i) } }));
      }
      operations++;
    }
  }

  await Promise.all(Array.from({ length: 16 }, (_, seed) => worker(seed)));
  t.ok(operations >= 600, `${operations} operations ran`);
  t.same(foreign, [], 'no operation returned another tenant’s row');
  for (const tenant of tenants) {
    const ids = new Set((await platform.router.clientFor(tenant).lead.findMany({ select: { id: true } })).map((r) => r.id));
    t.same(ids, created.get(tenant.id), `${tenant.slug} holds exactly the rows it created`);
  }
});
