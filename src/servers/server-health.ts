/**
 * Whether each database server answers: a failed probe sets `down_since`, a successful one clears
 * it. Health writes leave `updated_at` alone: bumping it makes every instance drop its connections.
 */
import pg from 'pg';
import { recordAdminAction } from '../admin/admin-audit.js';
import type { CatalogClient } from '../catalog/catalog-client.js';
import type { Log } from '../platform/log.js';
import { databaseUnreachable } from '../router/tenant-sql.js';
import { connectionConfig, type ServerRecord } from './server-access.js';

export interface HealthOptions {
  /** 0: probes only after a suspicion. */
  everyMs: number;
  timeoutMs: number;
  /** Dedicated databases are `<prefix>_t_…`. */
  prefix: string;
  /** Per server at most: summing database sizes walks their files. */
  storageEveryMs?: number;
}

export interface ProbeResult {
  up: boolean;
  error?: string;
}

/** Not answering, unlike answering with an error (too many connections…). */
const unanswered = (err: unknown) => databaseUnreachable(err) || /timeout|terminated/i.test((err as Error).message ?? '');

export class ServerHealth {
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Map<string, Promise<ProbeResult>>();
  readonly #running = new Set<Promise<unknown>>();
  readonly #storageMeasuredAt = new Map<string, number>();
  #closed = false;

  constructor(
    private readonly catalog: CatalogClient,
    private readonly log: Log,
    private readonly options: HealthOptions,
  ) {}

  /** For API instances; scripts only probe on suspicion. */
  start(): void {
    if (!this.options.everyMs || this.#timer || this.#closed) return;
    const tick = () => {
      this.#timer = setTimeout(() => {
        this.#track(this.probeAll().catch((err: unknown) => this.log.warn({ err }, 'probing database servers failed'))).finally(() => this.#timer && tick());
      }, this.options.everyMs);
      this.#timer.unref();
    };
    tick();
  }

  suspect(serverId: string): void {
    if (this.#closed || this.#inFlight.has(serverId)) return;
    void this.#track(
      this.catalog.databaseServer
        .findUnique({ where: { id: serverId } })
        .then((server) => (server && !this.#closed ? this.probe(server) : undefined))
        .catch((err: unknown) => this.log.warn({ err, serverId }, 'probing a suspected database server failed')),
    );
  }

  async probeAll(): Promise<ProbeResult[]> {
    const servers = await this.catalog.databaseServer.findMany();
    return Promise.all(servers.map((server) => this.probe(server)));
  }

  probe(server: ServerRecord): Promise<ProbeResult> {
    const running = this.#inFlight.get(server.id);
    if (running) return running;
    const probe = this.#probe(server).finally(() => this.#inFlight.delete(server.id));
    this.#inFlight.set(server.id, probe);
    return probe;
  }

  /** A probe finishing later would reopen the closed catalog. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#running, ...this.#inFlight.values()]);
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#running.add(work);
    return work.finally(() => this.#running.delete(work));
  }

  async #probe(server: ServerRecord): Promise<ProbeResult> {
    const measure = Date.now() - (this.#storageMeasuredAt.get(server.id) ?? 0) >= (this.options.storageEveryMs ?? 60_000);
    let storage: bigint | undefined;
    try {
      storage = await this.#ask(server, measure);
    } catch (err) {
      const error = (err as Error).message || String((err as { code?: string }).code);
      if (!unanswered(err)) {
        this.log.warn({ err, server: server.name }, 'database server answered the health probe with an error');
        return { up: true, error };
      }
      await this.#markDown(server, error);
      return { up: false, error };
    }
    await this.#markUp(server, storage);
    return { up: true };
  }

  /** As the owner: straight to the server, never through a pooler. */
  async #ask(server: ServerRecord, measure: boolean): Promise<bigint | undefined> {
    const client = new pg.Client({
      ...connectionConfig(server, 'owner', server.tenantsDatabase),
      connectionTimeoutMillis: this.options.timeoutMs,
      query_timeout: this.options.timeoutMs,
      application_name: 'strata-health',
    });
    client.on('error', () => undefined); // surfaces as the failure of the query under way
    try {
      await client.connect();
      if (!measure) {
        await client.query('SELECT 1');
        return undefined;
      }
      const { rows } = await client.query<{ bytes: string }>(
        `SELECT coalesce(sum(pg_database_size(datname)), 0)::bigint AS bytes FROM pg_database WHERE datname = $1 OR starts_with(datname, $2)`,
        [server.tenantsDatabase, `${this.options.prefix}_t_`],
      );
      this.#storageMeasuredAt.set(server.id, Date.now());
      return BigInt(rows[0]!.bytes);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async #markDown(server: ServerRecord, error: string) {
    const changed = await this.catalog.$executeRaw`
      UPDATE database_servers SET down_since = now(), health_error = ${error}, health_checked_at = now()
       WHERE id = ${server.id}::uuid AND down_since IS NULL`;
    if (!changed) return;
    this.log.warn({ server: server.name, error }, 'database server does not answer: marked down');
    await recordAdminAction(this.catalog, { adminId: null, action: 'server.down', details: { name: server.name, error } });
  }

  async #markUp(server: ServerRecord, storage: bigint | undefined) {
    const changed = await this.catalog.$executeRaw`
      UPDATE database_servers SET down_since = NULL, health_error = NULL, health_checked_at = now()
       WHERE id = ${server.id}::uuid AND down_since IS NOT NULL`;
    if (storage !== undefined) {
      await this.catalog.$executeRaw`UPDATE database_servers SET storage_bytes = ${storage}, health_checked_at = now() WHERE id = ${server.id}::uuid`;
    }
    if (!changed) return;
    this.log.info({ server: server.name }, 'database server answers again: marked up');
    await recordAdminAction(this.catalog, { adminId: null, action: 'server.up', details: { name: server.name } });
  }
}
