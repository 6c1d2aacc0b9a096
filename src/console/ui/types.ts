/** Shapes of the admin API's answers as the console uses them (the API's zod schemas are the reference). */
export type Tier = 'pooled' | 'schema' | 'dedicated';
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export interface TenantRow {
  id: string;
  slug: string;
  name: string;
  plan: string;
  tier: Tier;
  status: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}
export interface TenantDetail extends TenantRow {
  placement: { server: string; host: string; port: number; schema: string; database: string };
  config: Record<string, unknown>;
  suspension: { reason: string; at: string } | null;
  usage: { requests: { today: number; last30Days: number }; rows: Record<string, number>; storageBytes: number | null };
}
export interface Move {
  id: string;
  tenantId: string;
  from: { tier: Tier; serverId: string };
  to: { tier: Tier; serverId: string };
  phase: string;
  status: 'running' | 'succeeded' | 'cancelled' | 'failed';
  cancelRequested: boolean;
  percent: number | null;
  etaSeconds: number | null;
  rowsCopied: number;
  rowsTotal: number;
  tables: Record<string, { copied: number; total: number }>;
  fenceMs: number | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}
export interface AdminAction {
  id: string;
  adminId: string | null;
  action: string;
  tenantId: string | null;
  details: Record<string, unknown>;
  at: string;
}
export interface Server {
  name: string;
  host: string;
  port: number;
  acceptsNewTenants: boolean;
  maxConnections: number;
  tenants: Record<Tier, number>;
  reachable: boolean;
  connections: number | null;
  error: string | null;
}
export interface Overview {
  tenants: { tier: Tier; status: string; count: number }[];
  servers: Server[];
  requestsPerDay: { day: string; requests: number }[];
  movesRunning: number;
  failedMigrations: number;
}
export interface MigrationTarget {
  target: string;
  kind: string;
  server: string;
  tenant: string | null;
  state: 'current' | 'pending' | 'failed' | 'refused' | 'unreachable';
  lastApplied: string | null;
  pending: string[];
  error: string | null;
  failedAt: string | null;
  carries?: number;
}
/** One step of GET /admin/tenants/:id/usage or GET /admin/usage/fleet. */
export interface LoadPoint {
  start: string;
  requests: number;
  meanMs: number | null;
  p99Ms: number | null;
  dbTimeMs: number;
  statements: number;
  rowsWritten: number;
  guardRejections: number;
}
export interface LoadSeries {
  windowMs: number;
  stepMs: number;
  points: LoadPoint[];
}
export interface TopTenant extends Omit<LoadPoint, 'start'> {
  tenantId: string;
  slug: string;
  tier: Tier;
}
/** One row of the tenant's own trail (GET /admin/tenants/:id/audit). */
export interface TenantAuditEvent {
  id: string;
  actorId: string | null;
  action: string;
  entity: string;
  entityId: string;
  changes: Record<string, unknown>;
  at: string;
}
/** One piece of a recommendation's evidence: a signal that crossed its threshold over the window. */
export interface Evidence {
  signal: 'dbTimeShare' | 'dbTimePerMinute' | 'requestRate' | 'p99' | 'guardRejections' | 'rows' | 'storage';
  value: number;
  threshold: number;
  crossed: 'above' | 'below';
  unit: string;
}
/** One item of GET /admin/recommendations. */
export interface Recommendation {
  tenantId: string;
  slug: string;
  direction: 'up' | 'down';
  current: { tier: Tier; server: string };
  suggested: { tier: Tier; server: string | null };
  evidence: Evidence[];
  /** The body of POST /admin/tenants/:id/moves that carries it out; null when `blocked`. */
  move: { targetTier: Tier; targetServer: string } | null;
  blocked: string | null;
}
export interface Recommendations {
  windowMs: number;
  evaluatedAt: string;
  items: Recommendation[];
}
