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
  topTenants: { id: string; slug: string; tier: Tier; plan: string; status: string; today: number; last30Days: number }[];
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
