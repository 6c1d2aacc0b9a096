-- CreateEnum
CREATE TYPE "TenantTier" AS ENUM ('pooled', 'schema', 'dedicated');

-- CreateEnum
CREATE TYPE "TenantStatus" AS ENUM ('provisioning', 'active', 'suspended', 'moving', 'deleted');

-- CreateTable
CREATE TABLE "database_servers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "tenants_database" TEXT NOT NULL,
    "owner_role" TEXT NOT NULL,
    "owner_secret_ref" TEXT NOT NULL,
    "runtime_role" TEXT NOT NULL,
    "runtime_secret_ref" TEXT NOT NULL,
    "max_connections" INTEGER NOT NULL DEFAULT 20,
    "accepts_new_tenants" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "database_servers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tenants" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "plan" TEXT NOT NULL,
    "tier" "TenantTier" NOT NULL,
    "status" "TenantStatus" NOT NULL DEFAULT 'provisioning',
    "server_id" UUID NOT NULL,
    "schema_name" TEXT NOT NULL,
    "database_name" TEXT NOT NULL,
    "config" JSONB NOT NULL DEFAULT '{}',
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tenants_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "database_servers_name_key" ON "database_servers"("name");

-- CreateIndex
CREATE UNIQUE INDEX "tenants_slug_key" ON "tenants"("slug");

-- CreateIndex
CREATE INDEX "tenants_status_idx" ON "tenants"("status");

-- CreateIndex
CREATE INDEX "tenants_server_id_tier_idx" ON "tenants"("server_id", "tier");

-- AddForeignKey
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "database_servers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
