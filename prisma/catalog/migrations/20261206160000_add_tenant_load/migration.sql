-- Per-tenant load in fixed windows (STRATA_USAGE_WINDOW_MS), summed over every instance's flushes.
CREATE TABLE "tenant_load" (
    "tenant_id" UUID NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "requests" BIGINT NOT NULL DEFAULT 0,
    "request_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- Requests per latency bucket (src/usage/tenant-load.ts latencyBoundsMs), for percentiles across instances.
    "latency_buckets" BIGINT[] NOT NULL DEFAULT '{}',
    "db_time_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "statements" BIGINT NOT NULL DEFAULT 0,
    "rows_written" BIGINT NOT NULL DEFAULT 0,
    "guard_rejections" BIGINT NOT NULL DEFAULT 0,
    -- Sampled, not summed: the tenant's rows and on-disk bytes when last measured in the window.
    "rows_total" BIGINT,
    "storage_bytes" BIGINT,

    CONSTRAINT "tenant_load_pkey" PRIMARY KEY ("tenant_id", "window_start")
);

-- Fleet rankings and pruning read a time range across tenants.
CREATE INDEX "tenant_load_window_start_idx" ON "tenant_load"("window_start");

ALTER TABLE "tenant_load" ADD CONSTRAINT "tenant_load_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;
