/**
 * Regression: `npm run token` left no trace in the admin trail, and a token minted for user X
 * (with any role) was recorded as X's own actions in the tenant's trail (creating a deal or an
 * activity still was, after leads had been fixed).
 */
import t from 'tap';
import { provision, startTestPlatform, testApp, userWithToken } from '../helper.js';
import { decodeClaims, liveApi } from '../support/live-api.js';
import { runScript } from '../support/run-script.js';
import { testSecrets } from '../support/test-secrets.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const api = await liveApi(t, await testApp(t, platform));

t.test('a minted token names the operator as actor; the minting and its use are audited as theirs', async (t) => {
  const tenant = await provision(platform, 'schema', 'minted', 'starter');
  const staff = await userWithToken(platform, tenant, 'staff');
  const owner = await userWithToken(platform, tenant, 'owner');
  const env = { DATABASE_URL: process.env.DATABASE_URL, STRATA_DB_PREFIX: platform.config.database.prefix, REDIS_URL: '', STRATA_SPARE_SCHEMAS: '0' };
  const minted = await runScript('token', ['--tenant', tenant.slug, '--role', 'owner', '--sub', staff.user.id, '--ttl', '600'], env);
  t.equal(minted.code, 0, minted.stderr);
  const token = minted.stdout.trim();
  const claims = decodeClaims(token) as { sub: string; role: string; act?: { sub: string }; iat: number; exp: number };
  t.equal(claims.sub, staff.user.id);
  t.equal(claims.role, 'owner');
  t.match(claims.act?.sub, /^operator:/, 'the operator is the actor (RFC 8693 act)');
  t.equal(claims.exp - claims.iat, 600);

  const admin = (await api('POST', '/admin/auth/login', { body: { email: platform.config.admin.email, password: testSecrets.STRATA_ADMIN_PASSWORD } })).body
    .accessToken;
  const trail = await api('GET', `/admin/audit?action=token.mint&tenantId=${tenant.id}`, { token: admin });
  t.equal(trail.status, 200);
  t.equal(trail.body.items.length, 1, 'the minting is in the admin trail');
  t.match(trail.body.items[0], {
    adminId: null,
    tenantId: tenant.id,
    details: { operator: claims.act!.sub, subject: staff.user.id, subjectIsUser: true, role: 'owner', ttlSeconds: 600 },
  });

  const lead = await api('POST', '/leads', { token, body: { name: 'made by an operator' } });
  t.equal(lead.status, 201);
  const ownSession = (await api('POST', '/auth/login', { body: { email: staff.email, password: staff.password } })).body.accessToken;
  const own = await api('POST', '/leads', { token: ownSession, body: { name: 'made by the user' } });
  t.equal(own.status, 201);

  const ownerSession = (await api('POST', '/auth/login', { body: { email: owner.email, password: owner.password } })).body.accessToken;
  const events = (await api('GET', '/audit?entity=lead', { token: ownerSession })).body.items as {
    entityId: string;
    actorId: string | null;
    changes: Record<string, unknown>;
  }[];
  const byOperator = events.find((e) => e.entityId === lead.body.id)!;
  t.equal(byOperator.actorId, null, "not recorded as the user's own action");
  t.match(byOperator.changes, { _operator: claims.act!.sub, _onBehalfOf: staff.user.id }, 'the operator and the user they acted as');
  t.equal(events.find((e) => e.entityId === own.body.id)!.actorId, staff.user.id, "the user's own login is theirs");

  // Creating a deal or an activity was recorded as the token's subject's own action, minted or not.
  const deal = await api('POST', '/deals', { token, body: { title: 'made by an operator', amount: '10.00', currency: 'EUR' } });
  t.equal(deal.status, 201);
  const activity = await api('POST', '/activities', { token, body: { kind: 'note', body: 'made by an operator', dealId: deal.body.id } });
  t.equal(activity.status, 201);
  for (const [entity, id] of [
    ['deal', deal.body.id as string],
    ['activity', activity.body.id as string],
  ] as const) {
    const trail = (await api('GET', `/audit?entity=${entity}&entityId=${id}`, { token: ownerSession })).body.items;
    t.match(
      trail,
      [{ action: `${entity}.create`, actorId: null, changes: { _operator: claims.act!.sub, _onBehalfOf: staff.user.id } }],
      `${entity} creation with it is audited as the operator's`,
    );
  }
});
