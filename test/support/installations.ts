/**
 * Names and removes test installations. Under `npm test` every installation's prefix starts with
 * the run's (STRATA_TEST_RUN) and scripts/test.ts drops them all when the files are done: each
 * DROP DATABASE forces a checkpoint, and hundreds of them during the run stalled every file's writes.
 */
import { randomBytes } from 'node:crypto';
import { dropInstallation } from '../../src/platform/drop-installation.js';

export function installationPrefix(): string {
  return `${process.env.STRATA_TEST_RUN ?? 't'}_${randomBytes(4).toString('hex')}`;
}

/** Drops the installation's databases now, unless the test runner drops the whole run's at its end. */
export async function releaseInstallation(adminUrl: string, prefix: string): Promise<void> {
  if (!process.env.STRATA_TEST_RUN) await dropInstallation(adminUrl, prefix);
}
