/** Development secrets left unset are generated once into STRATA_SECRETS_FILE (mode 0600). */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadDotEnv, secretKeys, type SecretKey, secretsFileOf } from './config.js';

type Secrets = Partial<Record<SecretKey, string>>;

const generate = (): Record<SecretKey, string> => ({
  JWT_SECRET: randomBytes(48).toString('base64url'),
  STRATA_OWNER_PASSWORD: randomBytes(24).toString('base64url'),
  STRATA_RUNTIME_PASSWORD: randomBytes(24).toString('base64url'),
  STRATA_ADMIN_PASSWORD: randomBytes(15).toString('base64url'),
  STRATA_EMBEDDED_PASSWORD: randomBytes(24).toString('base64url'),
});

export interface ProvidedSecrets {
  file: string;
  generated: SecretKey[];
}

export function provideInstallationSecrets(env: Record<string, string | undefined> = process.env): ProvidedSecrets | undefined {
  const where = secretsFileOf(env);
  if (!where) return undefined;
  const file = resolve(where);
  // Only the secrets' folder is 0700: embedded PostgreSQL (another user under root) uses .strata/.
  mkdirSync(dirname(dirname(file)), { recursive: true });
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let stored = readSecrets(file);
  const generated: SecretKey[] = [];
  if (!stored) {
    const fresh = generate();
    // Written aside then linked: of two first starts at once, one file wins whole and both use it.
    if (publish(file, fresh, 'link')) generated.push(...secretKeys);
    stored = readSecrets(file)!;
  }
  const missing = secretKeys.filter((key) => !stored[key]);
  if (missing.length) {
    const fresh = generate();
    for (const key of missing) stored[key] = fresh[key];
    publish(file, stored, 'rename');
    generated.push(...missing);
  }
  chmodSync(file, 0o600);
  for (const key of secretKeys) if (!env[key]) env[key] = stored[key];
  return { file, generated };
}

/** Run first by server.ts and the scripts. A generated admin password is shown once, on stderr. */
export function prepareEnvironment(env: Record<string, string | undefined> = process.env): void {
  loadDotEnv();
  const provided = provideInstallationSecrets(env);
  if (!provided?.generated.includes('STRATA_ADMIN_PASSWORD')) return;
  const email = env.STRATA_ADMIN_EMAIL || 'admin@strata.local';
  const used = env.STRATA_ADMIN_PASSWORD === readSecrets(provided.file)?.STRATA_ADMIN_PASSWORD;
  if (used) {
    console.error(
      `\nStrata generated this installation's secrets in ${provided.file}.\n` +
        `Bootstrap admin: ${email}  password: ${env.STRATA_ADMIN_PASSWORD}\n(shown once; it stays in that file)\n`,
    );
  }
}

function readSecrets(file: string): Secrets | undefined {
  if (!existsSync(file)) return undefined;
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return typeof parsed === 'object' && parsed ? (parsed as Secrets) : {};
}

/** false if another process won the link. */
function publish(file: string, secrets: Secrets, how: 'link' | 'rename'): boolean {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  if (how === 'rename') {
    renameSync(temporary, file);
    return true;
  }
  try {
    linkSync(temporary, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    rmSync(temporary, { force: true });
  }
}
