-- Servers carry an operator state, capacity (weight, caps per tier and of storage) and health.
CREATE TYPE "ServerState" AS ENUM ('active', 'cordoned', 'draining');

ALTER TABLE "database_servers"
  ADD COLUMN "state" "ServerState" NOT NULL DEFAULT 'active',
  ADD COLUMN "weight" INTEGER NOT NULL DEFAULT 1,
  ADD COLUMN "max_pooled_tenants" INTEGER,
  ADD COLUMN "max_schema_tenants" INTEGER,
  ADD COLUMN "max_dedicated_tenants" INTEGER,
  ADD COLUMN "max_storage_bytes" BIGINT,
  ADD COLUMN "storage_bytes" BIGINT,
  ADD COLUMN "down_since" TIMESTAMPTZ(3),
  ADD COLUMN "health_error" TEXT,
  ADD COLUMN "health_checked_at" TIMESTAMPTZ(3);

-- A cordoned server (accepts_new_tenants false) keeps being cordoned.
UPDATE "database_servers" SET "state" = 'cordoned' WHERE NOT "accepts_new_tenants";
ALTER TABLE "database_servers" DROP COLUMN "accepts_new_tenants";
