-- CreateEnum
CREATE TYPE "MovePhase" AS ENUM ('prepare', 'capture', 'copy', 'catchup', 'verify', 'fence', 'final', 'flip', 'invalidate', 'cleanup', 'rollback', 'done');

-- CreateEnum
CREATE TYPE "MoveStatus" AS ENUM ('running', 'succeeded', 'cancelled', 'failed');

-- CreateTable
CREATE TABLE "tenant_moves" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tenant_id" UUID NOT NULL,
    "active_tenant_id" UUID,
    "from_tier" "TenantTier" NOT NULL,
    "from_server_id" UUID NOT NULL,
    "from_schema" TEXT NOT NULL,
    "from_database" TEXT NOT NULL,
    "to_tier" "TenantTier" NOT NULL,
    "to_server_id" UUID NOT NULL,
    "to_schema" TEXT NOT NULL,
    "to_database" TEXT NOT NULL,
    "phase" "MovePhase" NOT NULL DEFAULT 'prepare',
    "status" "MoveStatus" NOT NULL DEFAULT 'running',
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "progress" JSONB NOT NULL DEFAULT '{}',
    "error" TEXT,
    "requested_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "fenced_at" TIMESTAMPTZ(3),
    "flipped_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "tenant_moves_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "tenant_moves_active_tenant_id_key" ON "tenant_moves"("active_tenant_id");

-- CreateIndex
CREATE INDEX "tenant_moves_tenant_id_created_at_idx" ON "tenant_moves"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "tenant_moves_status_idx" ON "tenant_moves"("status");

-- AddForeignKey
ALTER TABLE "tenant_moves" ADD CONSTRAINT "tenant_moves_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;
