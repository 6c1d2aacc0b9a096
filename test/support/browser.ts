/** A headless Chromium (Debian's, found on PATH) driven by playwright-core, closed with the test. */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';
import type { Test } from 'tap';

export async function launchBrowser(t: Test): Promise<Browser> {
  const executablePath = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  // Root in containers and CI: Chromium's sandbox needs a user namespace it may not get there.
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  return browser;
}
