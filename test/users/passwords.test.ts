/**
 * Passwords: everyone changes their own given the current one (which ends their other sessions);
 * resetting someone else's needs a higher role. Regression: staff and managers could not change
 * theirs, nobody was asked for the current one, and an admin could reset a peer admin's password
 * and log in as them.
 */
import t from 'tap';
import { provision, startTestPlatform, testApp, tiers, userWithToken } from '../helper.js';
import { liveApi } from '../support/live-api.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const api = await liveApi(t, await testApp(t, platform));
type Role = 'owner' | 'admin' | 'manager' | 'staff';
const roles: Role[] = ['owner', 'admin', 'manager', 'staff'];

const login = (email: string, password: string) => api('POST', '/auth/login', { body: { email, password } });
const session = async (email: string, password: string) => {
  const response = await login(email, password);
  if (response.status !== 200) throw new Error(`login ${email}: ${response.status}`);
  return response.body as { accessToken: string; refreshToken: string };
};

roles.forEach((role, i) => {
  const tier = tiers[i % tiers.length]!;
  t.test(`${tier}: a ${role} changes their own password given the current one; their other sessions end`, async (t) => {
    const tenant = await provision(platform, tier, `own-${role}`);
    const { email, password } = await userWithToken(platform, tenant, role);
    const [mine, other] = [await session(email, password), await session(email, password)];
    const change = (body: object) => api('POST', '/me/password', { token: mine.accessToken, body });

    const wrong = await change({ currentPassword: 'not the password', newPassword: 'a brand new password' });
    t.equal(wrong.status, 403);
    t.equal(wrong.body.code, 'STRATA_AUTH_CURRENT_PASSWORD_WRONG');
    t.equal(wrong.body.errors[0].field, 'body.currentPassword');
    for (const body of [
      { currentPassword: password, newPassword: 'short' },
      { newPassword: 'a brand new password' },
      { currentPassword: password, newPassword: 'a brand new password', role: 'owner' },
    ]) {
      const bad = await change(body);
      t.equal(bad.status, 400, JSON.stringify(body));
      t.equal(bad.body.code, 'STRATA_REQUEST_INVALID');
    }
    t.equal((await login(email, password)).status, 200, 'nothing changed: the password still opens the account');
    t.equal((await api('GET', '/me', { token: other.accessToken })).status, 200, 'and the other session still works');

    const changed = await change({ currentPassword: password, newPassword: 'a brand new password' });
    t.equal(changed.status, 200);
    t.equal((await api('GET', '/me', { token: changed.body.accessToken })).body.role, role, 'the caller gets a new session');
    for (const old of [mine, other]) {
      t.equal((await api('GET', '/me', { token: old.accessToken })).status, 401, 'old access tokens are refused');
      t.equal((await api('POST', '/auth/refresh', { body: { refreshToken: old.refreshToken } })).status, 401, 'old refresh tokens too');
    }
    t.equal((await login(email, password)).status, 401, 'the old password no longer opens it');
    t.equal((await login(email, 'a brand new password')).status, 200, 'the new one does');
  });
});

t.test('two simultaneous changes of one password: exactly one wins', async (t) => {
  const tenant = await provision(platform, 'schema', 'race');
  for (let round = 0; round < 5; round++) {
    const { email, password } = await userWithToken(platform, tenant, 'staff');
    const { accessToken } = await session(email, password);
    const candidates = ['first new password', 'second new password'];
    const results = await Promise.all(
      candidates.map((newPassword) => api('POST', '/me/password', { token: accessToken, body: { currentPassword: password, newPassword } })),
    );
    // The loser is refused: 409 if it read the user before the winner's change; 403 if it read the
    // changed user (its current password is no longer the current one) while its token still
    // passed; 401 once the change has ended every session of the user, this one's too.
    const statuses = results.map((r) => r.status).sort();
    t.ok(statuses[0] === 200 && [401, 403, 409].includes(statuses[1]!), `round ${round}: ${statuses}`);
    const winner = candidates[results.findIndex((r) => r.status === 200)]!;
    t.equal((await login(email, winner)).status, 200, "the winner's password is the one kept");
    t.equal(
      (
        await login(
          email,
          candidates.find((c) => c !== winner)!,
        )
      ).status,
      401,
    );
  }
});

t.test("resetting someone else's password needs a higher role; an owner's nobody resets", async (t) => {
  const tenant = await provision(platform, 'pooled', 'resets');
  const allowed: Record<Role, Role[]> = { owner: ['admin', 'manager', 'staff'], admin: ['manager', 'staff'], manager: [], staff: [] };
  let n = 0;
  for (const actorRole of roles) {
    const actor = await userWithToken(platform, tenant, actorRole);
    const { accessToken } = await session(actor.email, actor.password);
    const targets = [...roles.map((role) => [role, 'a peer or another'] as const), [actorRole, 'themselves'] as const];
    for (const [targetRole, who] of targets) {
      const target = who === 'themselves' ? actor : await userWithToken(platform, tenant, targetRole);
      const newPassword = `taken over ${n++} password`;
      const reset = await api('PATCH', `/users/${target.user.id}`, { token: accessToken, body: { password: newPassword } });
      const may = who !== 'themselves' && allowed[actorRole].includes(targetRole);
      t.equal(reset.status, may ? 200 : 403, `${actorRole} resetting ${who === 'themselves' ? 'their own' : `a ${targetRole}'s`} password`);
      t.equal((await login(target.email, newPassword)).status, may ? 200 : 401, may ? 'the new password works' : 'and cannot log in as them');
      if (!may) t.equal((await login(target.email, target.password)).status, 200, 'the password is unchanged');
    }
  }
});
