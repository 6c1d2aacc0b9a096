/**
 * A slice of the attack run (`npm run attack`, scripts/security/) in the suite: the first attacks of
 * every OWASP API Security Top 10 category against `node dist/server.js` started for this test,
 * with fixtures made through the public API. Any finding fails the test; so does a category that
 * ran no attack.
 */
import t from 'tap';
import { categories } from '../../scripts/security/attack-log.js';
import { runAttacks } from '../../scripts/security/run-attacks.js';
import { startTargetServer } from '../../scripts/security/target-server.js';

const perCategory = 6;
const server = await startTargetServer();
t.teardown(() => server.stop());

t.test(`the first ${perCategory} attacks of every OWASP API Top 10 category find nothing`, async (t) => {
  const result = await runAttacks(
    server.url,
    {
      quick: true,
      perCategory,
      admin: server.admin,
      jwtSecret: server.jwtSecret,
      importMaxBytes: server.importMaxBytes,
      provisionEmpty: server.provisionEmpty,
    },
    { tty: false, write: () => undefined },
  );
  t.same(result.findings, [], 'no findings');
  t.same(
    result.counts.map((c) => c.category),
    Object.keys(categories),
    'every category is counted',
  );
  for (const count of result.counts) {
    t.ok(count.attacks > 0, `${count.category} ran (${count.attacks} attacks)`);
    // The closing health check is counted under API4, beyond its slice.
    t.ok(count.attacks <= perCategory + (count.category === 'API4' ? 1 : 0), `${count.category} kept to its slice`);
  }
  t.comment(`${result.attacks.length} attacks in ${(result.ms / 1000).toFixed(1)} s`);
});
