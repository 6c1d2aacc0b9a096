/**
 * Regression: an admin could not reset a peer admin's password directly, but could demote them to
 * manager first, then reset it and log in as them. An admin's role and status, and the admin role
 * itself, are the owner's to give and take; admins still manage managers and staff.
 */
import t, { type Test } from 'tap';
import { provision, startTestPlatform, testApp, tiers, userWithToken } from '../helper.js';
import { decodeClaims, liveApi, type LiveResponse } from '../support/live-api.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const api = await liveApi(t, await testApp(t, platform));

const login = (email: string, password: string) => api('POST', '/auth/login', { body: { email, password } });
async function accessToken(account: { email: string; password: string }, role: string): Promise<string> {
  const response = await login(account.email, account.password);
  if (response.status !== 200) throw new Error(`login ${account.email}: ${response.status}`);
  if (decodeClaims(response.body.accessToken).role !== role) throw new Error(`login ${account.email}: not a ${role}'s token`);
  return response.body.accessToken;
}

function refused(t: Test, response: LiveResponse, label: string) {
  t.equal(response.status, 403, label);
  t.match(response.headers.get('content-type'), /^application\/problem\+json/, `${label}: a problem`);
  t.equal(response.body.code, 'STRATA_AUTH_FORBIDDEN', `${label}: names the refusal`);
}

for (const tier of tiers) {
  t.test(`${tier}: an admin cannot take over a peer admin in two steps; the owner can change admins`, async (t) => {
    const tenant = await provision(platform, tier, 'takeover');
    const [owner, attacker, peer, manager, staff] = await Promise.all(
      (['owner', 'admin', 'admin', 'manager', 'staff'] as const).map((role) => userWithToken(platform, tenant, role)),
    );
    const adminToken = await accessToken(attacker!, 'admin');
    const as = (token: string) => (method: string, path: string, body?: object) => api(method, path, { token, body });
    const admin = as(adminToken);
    const newPassword = 'the attacker chose this';
    const before = (await admin('GET', `/users/${peer!.user.id}`)).body;

    refused(t, await admin('PATCH', `/users/${peer!.user.id}`, { role: 'manager' }), 'step one: demoting the peer admin');
    refused(t, await admin('PATCH', `/users/${peer!.user.id}`, { password: newPassword }), 'step two: resetting their password');
    refused(t, await admin('PATCH', `/users/${peer!.user.id}`, { role: 'staff', password: newPassword }), 'both steps in one request');
    refused(t, await admin('PATCH', `/users/${peer!.user.id}`, { status: 'deactivated' }), 'deactivating the peer admin');
    refused(t, await admin('DELETE', `/users/${peer!.user.id}`), 'deleting (deactivating) the peer admin');
    refused(t, await admin('PATCH', `/users/${manager!.user.id}`, { role: 'admin' }), 'promoting a manager to admin');
    refused(t, await admin('POST', '/users', { email: `second-admin@${tenant.slug}.example`, name: 'Another admin', role: 'admin' }), 'creating an admin');

    const after = (await admin('GET', `/users/${peer!.user.id}`)).body;
    t.same(after, before, "the peer's role, status and version are unchanged");
    t.equal((await login(peer!.email, newPassword)).status, 401, "the attacker's password does not open the peer's account");
    t.equal((await login(peer!.email, peer!.password)).status, 200, 'the peer still logs in with their own password');
    t.equal((await admin('GET', `/users/${manager!.user.id}`)).body.role, 'manager', 'the manager was not promoted');
    t.notOk(
      (await admin('GET', '/users?role=admin&limit=100')).body.items.some((u: { email: string }) => u.email.startsWith('second-admin@')),
      'no admin was created',
    );

    // Admins still manage managers and staff.
    t.equal((await admin('PATCH', `/users/${manager!.user.id}`, { role: 'staff' })).status, 200, 'an admin demotes a manager');
    t.equal((await admin('PATCH', `/users/${staff!.user.id}`, { password: 'set by the admin' })).status, 200, "an admin resets a staff member's password");
    t.equal((await login(staff!.email, 'set by the admin')).status, 200);
    t.equal((await admin('DELETE', `/users/${staff!.user.id}`)).status, 204, 'an admin deactivates a staff member');

    const ownerCalls = as(await accessToken(owner!, 'owner'));
    t.equal((await ownerCalls('PATCH', `/users/${peer!.user.id}`, { role: 'manager' })).status, 200, 'the owner demotes an admin');
    t.equal((await ownerCalls('PATCH', `/users/${peer!.user.id}`, { password: newPassword })).status, 200, "and resets the (now manager's) password");
    t.equal((await login(peer!.email, newPassword)).status, 200, 'the new password opens the account');
    t.equal((await login(peer!.email, peer!.password)).status, 401, 'the old one no longer does');
    t.equal((await ownerCalls('PATCH', `/users/${manager!.user.id}`, { role: 'admin' })).status, 200, 'the owner grants the admin role');
    t.equal((await ownerCalls('DELETE', `/users/${attacker!.user.id}`)).status, 204, 'the owner deactivates an admin');
    t.equal((await admin('GET', '/users')).status, 401, "the deactivated admin's token is refused at once");
  });
}
