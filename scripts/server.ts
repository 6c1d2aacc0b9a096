/**
 * Registers and manages the PostgreSQL servers tenants are placed on (src/servers/server-registry.ts):
 *   npm run server -- add <name> --host <host> [--port 5432] --bootstrap-secret env:NAME [--bootstrap-user postgres]
 *        [--runtime-host <host> --runtime-port <port>] [--tenants-database <db>] [--owner-role <r> --owner-secret env:NAME]
 *        [--runtime-role <r> --runtime-secret env:NAME] [--max-connections 20] [--cordoned] [capacity]
 *   npm run server -- list [--json]
 *   npm run server -- update <name> [--host h] [--port p] [--runtime-host h|none] [--runtime-port p|none]
 *        [--owner-secret env:NAME] [--runtime-secret env:NAME] [--max-connections n] [capacity]
 *   npm run server -- state <name> active|cordoned|draining      (cordon|uncordon <name>: the same)
 *   npm run server -- drain <name> [--concurrency 2]              moves every tenant off it online, then it can be removed
 *   npm run server -- remove <name>                               (refused until it holds nothing)
 * capacity: [--weight n] [--max-pooled n|none] [--max-schema n|none] [--max-dedicated n|none] [--max-storage bytes|none]
 * Secrets are given as references (`env:NAME`, read from that variable), never on the command line.
 * Refusals (bad settings, an unreachable server, a duplicate) exit 1 and record nothing.
 */
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { AppError } from '../src/http/problems.js';
import { defaultServerName } from '../src/platform/platform.js';
import { effectiveState, headroom, serverLoads } from '../src/servers/server-capacity.js';
import { registryDeps, toServerOutput } from '../src/servers/server-routes.js';
import {
  findServer,
  registerServer,
  removeServer,
  type ServerAddInput,
  type ServerState,
  serverStates,
  setServerState,
  updateServer,
} from '../src/servers/server-registry.js';
import type { Platform } from '../src/platform/platform.js';
import { createProgressReporter } from '../src/progress/progress-reporter.js';
import { drainServer, planDrain } from '../src/servers/server-drain.js';
import { UsageError, withPlatform } from './cli.js';

const usage = 'usage: npm run server -- add|list|update|state|cordon|uncordon|drain|remove [name] [options] (see scripts/server.ts)';
const flags = {
  host: 'host',
  port: 'port',
  'runtime-host': 'runtimeHost',
  'runtime-port': 'runtimePort',
  'tenants-database': 'tenantsDatabase',
  'owner-role': 'ownerRole',
  'owner-secret': 'ownerSecretRef',
  'runtime-role': 'runtimeRole',
  'runtime-secret': 'runtimeSecretRef',
  'max-connections': 'maxConnections',
  weight: 'weight',
  'max-pooled': 'maxPooledTenants',
  'max-schema': 'maxSchemaTenants',
  'max-dedicated': 'maxDedicatedTenants',
  'max-storage': 'maxStorageBytes',
  'bootstrap-user': 'bootstrap.user',
  'bootstrap-secret': 'bootstrap.secretRef',
  'bootstrap-database': 'bootstrap.database',
} as const;
const numeric = new Set(['port', 'runtime-port', 'max-connections', 'weight', 'max-pooled', 'max-schema', 'max-dedicated', 'max-storage']);
/** Flags whose `none` clears the setting. */
const clearable = (flag: string) => flag.startsWith('runtime-') || (flag.startsWith('max-') && flag !== 'max-connections');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ...Object.fromEntries(Object.keys(flags).map((flag) => [flag, { type: 'string' as const }])),
    cordoned: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const [command, name] = positionals;
const flagOf = (path: string) => Object.entries(flags).find(([, field]) => field === path)?.[0] ?? path;

/** The flags given, as the registry's input (numbers as numbers, `none` clearing a runtime endpoint). */
function settings(): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [flag, field] of Object.entries(flags)) {
    const value = (values as Record<string, unknown>)[flag];
    if (typeof value !== 'string') continue;
    const parsed = value === 'none' && clearable(flag) ? null : numeric.has(flag) ? Number(value) : value;
    const [outer, inner] = field.split('.');
    if (inner) input[outer!] = { ...(input[outer!] as object), [inner]: parsed };
    else input[field] = parsed;
  }
  return input;
}

/** Refusals name the flag to correct, as the API names the field. */
function explain(err: unknown): never {
  if (err instanceof ZodError) {
    throw new UsageError(`${usage}\n${err.issues.map((i) => `  ${i.path.length ? `--${flagOf(i.path.join('.'))}` : name}: ${i.message}`).join('\n')}`);
  }
  if (err instanceof AppError) {
    const fields = (err.errors ?? []).map((e) => `  --${flagOf(e.field.replace(/^body\./, ''))}: ${e.message}`);
    throw new Refused([`refused, nothing recorded: ${err.detail ?? err.message}`, ...fields].join('\n'));
  }
  throw err;
}

class Refused extends Error {}

/**
 * Drains with a progress bar on a terminal, JSON lines otherwise. Interrupted (Ctrl-C, a kill), the
 * moves under way stay recorded: running the drain again (or any API instance) resumes them.
 */
async function drain(platform: Platform, serverName: string): Promise<number> {
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) throw new UsageError(`${usage}\n  --concurrency: 1 to 16`);
  const server = await findServer(platform.catalog, serverName).catch(explain);
  const progress = createProgressReporter({ tty: !values.json && process.stderr.isTTY, out: process.stdout, err: process.stderr });
  const { moves } = await planDrain(platform, server.id, server.name);
  progress.start(moves.length, `drain ${serverName}`);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort(new Error(`interrupted: run npm run server -- drain ${serverName} again to resume`)));
  const report = await drainServer(platform, serverName, {
    concurrency,
    actor: null,
    signal: abort.signal,
    onEvent: (event) => progress.report(event, event.event === 'move.done' || event.event === 'move.failed'),
  });
  const { outcomes: _outcomes, ...summary } = report;
  progress.finish({ event: 'drain.finished', ...summary, failed: report.failed.map((f) => ({ tenant: f.slug, error: f.error })) });
  return report.remaining === 0 && !report.failed.length ? 0 : 1;
}

await withPlatform(async (platform) => {
  const deps = registryDeps(platform);
  if (command !== 'list' && !name) throw new UsageError(usage);
  try {
    switch (command) {
      case 'add':
        console.log(
          JSON.stringify(
            toServerOutput(
              await registerServer(deps, null, { name, ...settings(), state: values.cordoned ? 'cordoned' : 'active' } as ServerAddInput).catch(explain),
            ),
          ),
        );
        return 0;
      case 'update':
        console.log(JSON.stringify(toServerOutput(await updateServer(deps, null, name!, settings()).catch(explain))));
        return 0;
      case 'state':
      case 'cordon':
      case 'uncordon': {
        const state = command === 'state' ? positionals[2] : command === 'cordon' ? 'cordoned' : 'active';
        if (!serverStates.includes(state as ServerState)) throw new UsageError(`${usage}\n  state: one of ${serverStates.join(', ')}`);
        console.log(JSON.stringify(toServerOutput(await setServerState(deps, null, name!, state as ServerState).catch(explain))));
        return 0;
      }
      case 'drain':
        return await drain(platform, name!);
      case 'remove':
        await removeServer(deps, null, name!, defaultServerName).catch(explain);
        console.log(JSON.stringify({ removed: name }));
        return 0;
      case 'list': {
        const loads = await serverLoads(deps.catalog);
        if (values.json)
          console.log(
            JSON.stringify(
              loads.map((l) => ({ ...toServerOutput(l.server), tenants: l.tenants })),
              null,
              2,
            ),
          );
        for (const load of values.json ? [] : loads) {
          const s = load.server;
          const runtime = s.runtimeHost || s.runtimePort ? ` runtime ${s.runtimeHost ?? s.host}:${s.runtimePort ?? s.port}` : '';
          const tiers = (['pooled', 'schema', 'dedicated'] as const).map((tier) => {
            const room = headroom(load, tier);
            return `${load.tenants[tier]} ${tier}${room === null ? '' : ` (room ${room})`}`;
          });
          console.log(
            `${s.name.padEnd(20)} ${`${s.host}:${s.port}/${s.tenantsDatabase}`.padEnd(44)} ${effectiveState(s).toUpperCase().padEnd(9)} ` +
              `weight ${s.weight} tenants ${tiers.join(', ')}${runtime}`,
          );
        }
        return 0;
      }
      default:
        throw new UsageError(usage);
    }
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    console.error(err.message);
    return 1;
  }
});
