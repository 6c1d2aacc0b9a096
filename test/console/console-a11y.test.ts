/**
 * The operator console by keyboard alone, in a real headless Chromium: sign in, open a
 * recommendation's move dialog, find a tenant, suspend and reactivate it, filter the audit trail,
 * sign out, with Tab, Shift+Tab, typing, Enter and Escape only. On every main view, every form
 * control has an accessible name, all text meets WCAG AA contrast, and nothing scrolls sideways at 1280×800 nor in a small laptop window
 * (1024×640); screenshots of both sizes go to test-artifacts/console/.
 */
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import type { Locator, Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { startTestPlatform, testApp } from '../helper.js';
import { launchBrowser } from '../support/browser.js';
import { adminLogin, frontDoor } from '../support/front-door.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';
import { contrastRatio, hasFocus, lowContrastText, overflowsSideways, parseColor, unnamedControls } from '../support/page-checks.js';
import { testSecrets } from '../support/test-secrets.js';

const shots = 'test-artifacts/console';

t.test('contrast arithmetic matches WCAG’s reference figures', async (t) => {
  t.equal(contrastRatio(parseColor('rgb(0, 0, 0)'), parseColor('rgb(255, 255, 255)')), 21);
  t.equal(
    contrastRatio(parseColor('rgb(118, 118, 118)'), parseColor('rgb(255, 255, 255)')).toFixed(2),
    '4.54',
    '#767676 on white, the lightest grey that passes',
  );
  t.same(parseColor('rgba(15, 33, 55, 0.45)'), [15, 33, 55, 0.45]);
});

/** Presses Tab (or Shift+Tab) until `target` has the focus; fails the test if it never does. */
async function tabTo(t: Test, page: Page, target: Locator, what: string, { back = false, most = 120 } = {}) {
  for (let i = 0; i < most; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    if (await hasFocus(target).catch(() => false)) return;
  }
  t.fail(`${what} is never reached by ${back ? 'Shift+Tab' : 'Tab'}`);
  throw new Error(`${what} unreachable by keyboard`);
}

t.test('the console by keyboard only, named, legible, at two sizes', { skip: skipWithout(optionalTools.chromium) }, async (t) => {
  // A one-second advice window: the dedicated tenant, idle since it was made, is advised down by the time the overview opens.
  const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0', STRATA_ADVICE_WINDOW_MS: '1000' });
  const app = await testApp(t, platform);
  const call = await frontDoor(app);
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const admin = await adminLogin(call);
  for (const [slug, tier] of [
    ['acme-corp', 'pooled'],
    ['globex', 'schema'],
    ['initech', 'dedicated'],
  ] as const) {
    const res = await call('POST', '/admin/tenants', {
      token: admin,
      body: { slug, name: slug, plan: 'starter', tier, owner: { email: `owner@${slug}.example`, name: 'Owner' } },
    });
    t.equal(res.status, 201, slug);
  }
  const idleSince = Date.now();
  mkdirSync(shots, { recursive: true });
  const browser = await launchBrowser(t);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (message) => /Content Security Policy|Refused to/.test(message.text()) && errors.push(message.text()));

  /** Names, contrast and width of the view on screen, at both sizes, with a screenshot of each. */
  const inspect = async (t: Test, view: string) => {
    for (const [size, viewport] of [
      ['1280x800', { width: 1280, height: 800 }],
      ['laptop-1024x640', { width: 1024, height: 640 }],
    ] as const) {
      await page.setViewportSize(viewport);
      t.same(await unnamedControls(page), [], `${view} at ${size}: every control has an accessible name`);
      const contrast = await lowContrastText(page);
      t.ok(contrast.checked >= 5, `${view} at ${size}: ${contrast.checked} runs of text checked`);
      t.same(contrast.failures, [], `${view} at ${size}: all text meets WCAG AA contrast`);
      t.notOk(await overflowsSideways(page), `${view} at ${size}: no sideways scrolling`);
      await page.screenshot({ path: `${shots}/${view}-${size}.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  await t.test('sign in with the keyboard', async (t) => {
    await page.goto(`${base}/console`);
    const email = page.getByLabel('Email');
    await email.waitFor();
    t.ok(await hasFocus(email), 'the email field has the focus on arrival');
    await inspect(t, 'a11y-sign-in');
    await page.keyboard.type('admin@strata.local');
    await page.keyboard.press('Tab');
    await page.keyboard.type(testSecrets.STRATA_ADMIN_PASSWORD);
    await sleep(Math.max(0, idleSince + 1500 - Date.now()));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Database servers' }).waitFor();
    await page
      .getByRole('region', { name: 'Recommendations' })
      .getByRole('row', { name: /initech/ })
      .waitFor();
    await page
      .getByRole('img', { name: /Requests served by the fleet per 10m/ })
      .or(page.getByText('No requests in this span.'))
      .first()
      .waitFor();
    await inspect(t, 'a11y-overview');
  });

  await t.test('the skip link leads past the navigation', async (t) => {
    await tabTo(t, page, page.getByRole('link', { name: 'Skip to content' }), 'the skip link');
    await page.keyboard.press('Enter');
    t.ok(await hasFocus(page.locator('main')), 'the main content has the focus');
  });

  await t.test('a recommendation’s Move opens the move dialog prefilled; Escape gives the focus back', async (t) => {
    const move = page.getByRole('button', { name: 'Move initech' });
    await tabTo(t, page, move, 'the recommendation’s Move');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Move initech' });
    await dialog.waitFor();
    t.ok(await hasFocus(dialog.getByLabel('Target tier')), 'the dialog puts the focus in its first field');
    t.equal(await dialog.getByLabel('Target tier').inputValue(), 'schema', 'down to a schema, as advised');
    t.same(await unnamedControls(page), [], 'the open dialog’s controls are named');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    t.ok(await hasFocus(move), 'the focus is back on Move');
  });

  await t.test('find a tenant and open it with the keyboard', async (t) => {
    await tabTo(t, page, page.getByRole('link', { name: 'Tenants', exact: true }), 'the Tenants link', { back: true });
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'globex' }).waitFor();
    await tabTo(t, page, page.getByLabel('Search'), 'the search field');
    await page.keyboard.type('acme');
    await page.getByRole('link', { name: 'globex' }).waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'acme-corp' }).waitFor();
    await inspect(t, 'a11y-tenants');
    await tabTo(t, page, page.getByRole('link', { name: 'acme-corp' }), 'the tenant’s link');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Tenant trail' }).waitFor();
    await page.getByRole('heading', { name: 'Load' }).waitFor();
    await inspect(t, 'a11y-tenant');
  });

  await t.test('suspend with a reason and reactivate, by keyboard; Escape closes a dialog', async (t) => {
    await tabTo(t, page, page.getByRole('button', { name: 'Change plan' }), 'Change plan');
    await page.keyboard.press('Enter');
    const planDialog = page.getByRole('dialog', { name: 'Change plan' });
    await planDialog.waitFor();
    t.same(await unnamedControls(page), [], 'the open dialog’s controls are named');
    await page.keyboard.press('Escape');
    await planDialog.waitFor({ state: 'hidden' });

    await tabTo(t, page, page.getByRole('button', { name: 'Suspend', exact: true }), 'Suspend', { back: true });
    await page.keyboard.press('Enter');
    const reason = page.getByLabel('Reason (required)');
    await reason.waitFor();
    t.ok(await hasFocus(reason), 'the dialog puts the focus in its first field');
    await page.keyboard.type('keyboard test');
    await page.keyboard.press('Enter');
    await page.getByText('Tenant suspended.').waitFor();
    await tabTo(t, page, page.getByRole('button', { name: 'Reactivate' }), 'Reactivate', { back: true });
    await page.keyboard.press('Enter');
    await page.getByText('Tenant reactivated.').waitFor();
  });

  await t.test('filter the audit trail and read the migrations by keyboard', async (t) => {
    await tabTo(t, page, page.getByRole('link', { name: 'Audit', exact: true }), 'the Audit link', { back: true });
    await page.keyboard.press('Enter');
    await tabTo(t, page, page.getByLabel('Action'), 'the action filter');
    await page.keyboard.type('tenant.suspend');
    await page.keyboard.press('Enter');
    await page.getByRole('cell', { name: 'tenant.create' }).first().waitFor({ state: 'detached' });
    t.ok(await page.getByRole('cell', { name: /keyboard test/ }).isVisible(), 'the suspension and its reason are left');
    await inspect(t, 'a11y-audit');
    await tabTo(t, page, page.getByRole('link', { name: 'Migrations', exact: true }), 'the Migrations link', { back: true });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Migrations', level: 1 }).waitFor();
    await inspect(t, 'a11y-migrations');
  });

  await t.test('sign out with the keyboard', async (t) => {
    await tabTo(t, page, page.getByRole('button', { name: 'Sign out' }), 'Sign out', { back: true });
    await page.keyboard.press('Enter');
    await page.getByText('You signed out.').waitFor();
    t.ok(await page.getByLabel('Password').isVisible(), 'back at the sign-in form');
  });

  t.same(errors, [], 'no script error and no CSP violation in the page');
});
