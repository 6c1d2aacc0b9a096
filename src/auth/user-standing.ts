/**
 * A token is good while its user is active and at its issue version (`ver`; changes bump it), or, if
 * it names no user (operators'), while no user has its `sub`. Cached users drop on a Redis event,
 * else expire after STRATA_CATALOG_CACHE_MS.
 */
import { LRUCache } from 'lru-cache';
import type { CatalogEvents } from '../catalog/catalog-events.js';
import type { TenantSql } from '../router/tenant-sql.js';
import type { AccessClaims } from './tokens.js';

/** `version` null: no such user. */
interface Standing {
  version: number | null;
  active: boolean;
}

const remembered = 100_000;

export class UserStanding {
  readonly #known = new LRUCache<string, Standing>({ max: remembered });
  /** Bumped per change heard: a lookup begun before one must not keep what it read. */
  #generation = 0;

  constructor(
    private readonly ttl: { announced: number; unannounced: number },
    private readonly events?: CatalogEvents,
  ) {
    events?.onUserChanged((key) => this.#drop(key));
  }

  accepts(db: TenantSql, tenantId: string, claims: Pick<AccessClaims, 'sub' | 'ver'>): boolean | Promise<boolean> {
    const key = `${tenantId}/${claims.sub}`;
    const known = this.#known.get(key);
    // A token newer than what this instance knows means it missed the change: look again.
    if (known && !(claims.ver !== undefined && (known.version === null || claims.ver > known.version))) return judge(known, claims);
    return this.#lookUp(db, key, claims.sub).then((standing) => judge(standing, claims));
  }

  /** Tells the other instances too. */
  async changed(tenantId: string, userId: string): Promise<void> {
    this.#drop(`${tenantId}/${userId}`);
    await this.events?.publishUserChanged(tenantId, userId);
  }

  async #lookUp(db: TenantSql, key: string, userId: string): Promise<Standing> {
    const generation = this.#generation;
    const [row] = await db.$rows<{ version: number; status: string }>('SELECT version, status FROM users WHERE id = $1', [userId], {
      genericPlan: true,
    });
    const standing = { version: row?.version ?? null, active: row?.status === 'active' };
    const ttl = this.events?.listening ? this.ttl.announced : this.ttl.unannounced;
    // lru-cache reads a ttl of 0 as "forever"; here 0 means "do not remember".
    if (ttl > 0 && generation === this.#generation) this.#known.set(key, standing, { ttl });
    return standing;
  }

  #drop(key: string) {
    this.#generation++;
    if (key === '*') this.#known.clear();
    else this.#known.delete(key);
  }
}

function judge(standing: Standing, claims: Pick<AccessClaims, 'ver'>): boolean {
  if (standing.version === null) return claims.ver === undefined;
  return standing.active && claims.ver === standing.version;
}
