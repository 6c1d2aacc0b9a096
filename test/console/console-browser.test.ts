/**
 * The operator console end to end: a real headless Chromium against a listening API, signed in
 * with the real admin login, every action through the admin API. Screenshots of each main view
 * go to test-artifacts/console/.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import t from 'tap';
import { adminUrl, startTestPlatform, testApp } from '../helper.js';
import { launchBrowser } from '../support/browser.js';
import { adminLogin, frontDoor } from '../support/front-door.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';
import { testSecrets } from '../support/test-secrets.js';

const skip = skipWithout(optionalTools.chromium);
const shots = 'test-artifacts/console';

t.test('the operator console in a browser', { skip }, async (t) => {
  const platform = await startTestPlatform(t, {
    STRATA_SPARE_SCHEMAS: '0',
    STRATA_MOVE_GRACE_MS: '0',
    // Advice over 2 minutes, from 30 requests a minute on the starter plan (5% of its 600): Acme's four requests stay below it.
    STRATA_ADVICE_WINDOW_MS: '120000',
    STRATA_ADVICE_RATE_SHARE: '0.05',
  });
  const app = await testApp(t, platform);
  const call = await frontDoor(app);
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const admin = await adminLogin(call);
  const create = async (slug: string, name: string) => {
    const res = await call('POST', '/admin/tenants', {
      token: admin,
      body: { slug, name, plan: 'starter', tier: 'pooled', owner: { email: `owner@${slug}.example`, name: 'Owner' } },
    });
    if (res.status !== 201) throw new Error(`${slug}: ${res.status} ${JSON.stringify(res.json)}`);
    return { id: res.json.tenant.id as string, password: res.json.owner.password as string };
  };
  const { id: acme, password } = await create('acme-corp', 'Acme Corporation');
  await create('globex', 'Globex');
  const { id: initech } = await create('initech', 'Initech');
  // Load for the charts: Acme's owner makes four requests, and the windows go to the catalog.
  const owner = (await call('POST', '/auth/login', { body: { email: 'owner@acme-corp.example', password } })).json.accessToken as string;
  for (const name of ['One', 'Two', 'Three']) await call('POST', '/leads', { token: owner, body: { name } });
  await call('GET', '/leads', { token: owner });
  await platform.load.flush();
  const tenant = async (id: string) => (await call('GET', `/admin/tenants/${id}`, { token: admin })).json;

  mkdirSync(shots, { recursive: true });
  const browser = await launchBrowser(t);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  // Failed requests (the wrong password's 401) are the API's answers, shown in the page; CSP refusals are not.
  page.on('console', (message) => /Content Security Policy|Refused to/.test(message.text()) && problems.push(message.text()));
  const shot = (name: string) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

  await t.test('served under a strict CSP, from this origin only', async (t) => {
    const res = await fetch(`${base}/console`);
    t.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    t.match(csp, /script-src 'self'/);
    t.notMatch(csp, /unsafe-inline|unsafe-eval/);
    t.match(csp, /frame-ancestors 'none'/);
    t.equal(res.headers.get('x-content-type-options'), 'nosniff');
    t.equal(res.headers.get('x-frame-options'), 'DENY');
    const html = await res.text();
    t.notMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script');
    t.notMatch(html, /https?:\/\//, 'nothing from another host');
  });

  await t.test('sign in', async (t) => {
    await page.goto(`${base}/console`);
    await page.getByRole('heading', { name: 'Strata console' }).waitFor();
    await shot('sign-in');
    await page.getByLabel('Email').fill('admin@strata.local');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('Email or password is wrong').waitFor();
    await page.getByLabel('Password').fill(testSecrets.STRATA_ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
    await page.getByRole('heading', { name: 'Database servers' }).waitFor();
    t.ok(
      await page
        .getByRole('row', { name: /default/ })
        .first()
        .isVisible(),
      'the default server is listed',
    );
    await page.getByRole('img', { name: /^Requests served by the fleet per 10m \(UTC\): 4 in all/ }).waitFor();
    t.ok(await page.getByRole('img', { name: /^Database time served by the fleet/ }).isVisible(), 'the fleet’s database time over time');
    await page.getByLabel('Rank by').selectOption('requests');
    const top = page.getByRole('region', { name: 'Top tenants by requests, last 6h' });
    await top.getByRole('table').waitFor();
    t.equal(await top.getByRole('row').count(), 2, 'the header and one tenant: only Acme served requests');
    t.match(await top.getByRole('row').nth(1).innerText(), /^acme-corp\tpooled\t4\t/, 'its four requests');
    await page.getByRole('region', { name: 'Recommendations' }).getByText('No open recommendations').waitFor();
    await shot('overview');
  });

  await t.test('a tenant under load is recommended up with its evidence, and Move starts the move prefilled', async (t) => {
    const { id: hotId, password: hotPassword } = await create('hot-shop', 'Hot Shop');
    const hot = (await call('POST', '/auth/login', { body: { email: 'owner@hot-shop.example', password: hotPassword } })).json.accessToken as string;
    const statuses = new Set<number>();
    for (let i = 0; i < 90; i++) statuses.add((await call('GET', '/leads', { token: hot })).status);
    t.same([...statuses], [200], '90 requests served: 45 a minute over the window');
    await platform.load.flush();
    // The overview reads the advice when it opens: leave it and come back.
    await page.getByRole('link', { name: 'Tenants' }).click();
    await page.getByRole('link', { name: 'Overview' }).click();
    const advice = page.getByRole('region', { name: 'Recommendations' });
    const row = advice.getByRole('row', { name: /hot-shop/ });
    await row.waitFor();
    t.equal(await advice.getByRole('row').count(), 2, 'the header and hot-shop: Acme is under the threshold');
    const text = await row.innerText();
    t.match(text, /^hot-shop\s+Up\s+pooled on default → schema on default\s+Request rate [\d.]+ requests per minute, at or above 30\s+Move$/, text);
    t.ok(Number(/Request rate ([\d.]+)/.exec(text)?.[1]) >= 45, 'the rate measured from the requests made');
    // Its own page says the same.
    await row.getByRole('link', { name: 'hot-shop' }).click();
    const own = page.getByRole('region', { name: 'Recommendation', exact: true });
    await own
      .getByRole('row', { name: /hot-shop/ })
      .getByText(/^Request rate [\d.]+ requests per minute, at or above 30$/)
      .waitFor();
    await own.getByRole('button', { name: 'Move hot-shop' }).click();
    t.equal(
      await page.getByRole('dialog', { name: 'Move hot-shop' }).getByLabel('Target tier').inputValue(),
      'schema',
      'the tenant page’s Move is prefilled too',
    );
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('link', { name: 'Overview' }).click();
    await row.getByRole('button', { name: 'Move hot-shop' }).click();
    const dialog = page.getByRole('dialog', { name: 'Move hot-shop' });
    await dialog.waitFor();
    t.equal(await dialog.getByLabel('Target tier').inputValue(), 'schema', 'the recommended tier');
    t.equal(await dialog.getByLabel('Target server').inputValue(), 'default', 'the recommended server');
    await shot('recommendation-move');
    await dialog.getByRole('button', { name: 'Start move' }).click();
    await page.getByTestId('move-status').getByText('succeeded').waitFor({ timeout: 60_000 });
    t.equal((await tenant(hotId)).tier, 'schema', 'moved through the admin move route');
    await advice.getByText('No open recommendations').waitFor();
    await shot('recommendations-after-move');
  });

  await t.test('find a tenant', async (t) => {
    await page.getByRole('link', { name: 'Tenants' }).click();
    await page.getByRole('link', { name: 'globex' }).waitFor();
    await page.getByLabel('Search').fill('acme');
    await page.getByRole('link', { name: 'globex' }).waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'acme-corp' }).waitFor();
    t.equal(await page.locator('table.tenants tbody tr').count(), 1, 'the search finds acme-corp only');
    await shot('tenants');
    await page.getByRole('link', { name: 'acme-corp' }).click();
    await page.getByRole('heading', { name: /Acme Corporation/ }).waitFor();
  });

  await t.test('edit the config: a bad value is shown beside its field, a good one is saved', async (t) => {
    const color = page.getByLabel('primaryColor');
    await color.fill('blue');
    await page.getByRole('button', { name: 'Save config' }).click();
    await page.getByText('a colour like #1a2b3c').waitFor();
    t.equal(await color.getAttribute('aria-invalid'), 'true', 'the field is marked invalid');
    t.notOk((await tenant(acme)).config.branding, 'nothing was saved');
    await color.fill('#1f6feb');
    await page.getByLabel('users').fill('25');
    await page.getByRole('button', { name: 'Save config' }).click();
    await page.getByText('Config saved.').waitFor();
    t.match((await tenant(acme)).config, { branding: { primaryColor: '#1f6feb' }, limits: { users: 25 } });
    await page.getByRole('img', { name: /^Requests served for acme-corp per 10m \(UTC\): 4 in all/ }).waitFor();
    t.ok(await page.getByRole('img', { name: /^Database time served for acme-corp/ }).isVisible(), 'its database time over time');
    t.equal(await page.locator('dt:text-is("Users") + dd').textContent(), '1', 'its users: the owner');
    await page.getByRole('region', { name: 'Recommendation', exact: true }).getByText('None: this tenant fits its tier.').waitFor();
    const own = page.getByRole('region', { name: 'Tenant trail' });
    t.equal(await own.getByRole('cell', { name: 'lead.create' }).count(), 3, 'its own trail: the leads its owner made');
    t.ok(await page.getByRole('region', { name: 'Admin trail' }).getByRole('cell', { name: 'tenant.update' }).first().isVisible(), 'the admin trail beside it');
    await shot('tenant');
  });

  await t.test('suspend with a reason, then reactivate', async (t) => {
    await page.getByRole('button', { name: 'Suspend', exact: true }).click();
    await page.getByLabel('Reason (required)').fill('invoice overdue');
    await page.getByRole('button', { name: 'Suspend tenant' }).click();
    await page.getByText('Tenant suspended.').waitFor();
    t.match(await tenant(acme), { status: 'suspended', suspension: { reason: 'invoice overdue' } });
    await page.getByRole('button', { name: 'Reactivate' }).click();
    await page.getByText('Tenant reactivated.').waitFor();
    t.equal((await tenant(acme)).status, 'active');
  });

  await t.test('move pooled → dedicated and watch it succeed', async (t) => {
    await page.getByRole('button', { name: 'Move', exact: true }).click();
    await page.getByLabel('Target tier').selectOption('dedicated');
    await page.getByRole('button', { name: 'Start move' }).click();
    await page.getByTestId('move-status').getByText('succeeded').waitFor({ timeout: 60_000 });
    t.match(await page.getByTestId('move-status').textContent(), /100%/);
    t.equal((await tenant(acme)).tier, 'dedicated');
    await page.getByRole('table').filter({ hasText: 'pooled → dedicated' }).waitFor();
    await shot('move');
  });

  await t.test('cancel a move before the switch', async (t) => {
    // The token lives in the page's memory: navigate inside it, as a link would.
    await page.evaluate(`location.hash = '#/tenants/${initech}'`);
    await page.getByRole('heading', { name: /Initech/ }).waitFor();
    // Holding (once the page has read the tenant's row counts) the pooled leads table keeps the move from capturing changes until it is cancelled.
    const url = new URL(adminUrl());
    url.pathname = `/${platform.config.database.prefix}_tenants`;
    const blocker = new pg.Client({ connectionString: url.toString() });
    await blocker.connect();
    t.teardown(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE leads IN ACCESS EXCLUSIVE MODE');
    await page.getByRole('button', { name: 'Move', exact: true }).click();
    await page.getByLabel('Target tier').selectOption('schema');
    await page.getByRole('button', { name: 'Start move' }).click();
    await page.getByRole('button', { name: 'Cancel move' }).click();
    await blocker.query('ROLLBACK');
    await page.getByTestId('move-status').getByText('cancelled').waitFor({ timeout: 60_000 });
    t.match(await tenant(initech), { tier: 'pooled', status: 'active' });
  });

  await t.test('read the audit trail', async (t) => {
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByLabel('Action').fill('tenant.suspend');
    await page.getByRole('cell', { name: 'tenant.move.request' }).first().waitFor();
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('cell', { name: 'tenant.move.request' }).first().waitFor({ state: 'detached' });
    t.ok(await page.getByRole('cell', { name: /invoice overdue/ }).isVisible(), 'the suspension and its reason');
    await shot('audit');
    await page.getByRole('link', { name: 'Migrations' }).click();
    await page.getByRole('heading', { name: 'Targets needing attention' }).waitFor();
    await shot('migrations');
  });

  await t.test('sign out', async (t) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You signed out.').waitFor();
    t.ok(await page.getByLabel('Password').isVisible(), 'back at the sign-in form');
    await page.goto(`${base}/console#/tenants`);
    t.ok(await page.getByLabel('Password').isVisible(), 'a reload keeps no session');
  });

  t.same(problems, [], 'no script error and no CSP violation in the page');
});
