/**
 * The secrets tests set for themselves (NODE_ENV=test is the only mode that accepts published
 * values). The role passwords stay those every test run on a shared server has used, so suites of
 * other checkouts running at the same time keep reaching the shared roles.
 */
export const testSecrets = {
  NODE_ENV: 'test',
  JWT_SECRET: 'strata-development-jwt-secret-change-me',
  STRATA_OWNER_PASSWORD: 'strata-owner-dev-password',
  STRATA_RUNTIME_PASSWORD: 'strata-app-dev-password',
  STRATA_ADMIN_PASSWORD: 'strata-admin-dev-password',
  STRATA_EMBEDDED_PASSWORD: 'strata-embedded',
} as const;
