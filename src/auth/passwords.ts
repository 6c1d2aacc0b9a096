/** argon2id with the library's defaults (OWASP's m=19 MiB, t=2, p=1). */
import { hash, verify } from '@node-rs/argon2';

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

// Checked when there is no hash: an unknown email costs what a wrong password does.
const decoy = hash('strata-decoy-password-never-matches');

export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (!passwordHash) {
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}
