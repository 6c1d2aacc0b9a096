-- CreateTable
CREATE TABLE "login_routes" (
    "email" TEXT NOT NULL,
    "tenant_id" UUID NOT NULL,

    CONSTRAINT "login_routes_pkey" PRIMARY KEY ("email","tenant_id")
);

-- CreateIndex
CREATE INDEX "login_routes_tenant_id_idx" ON "login_routes"("tenant_id");

-- AddForeignKey
ALTER TABLE "login_routes" ADD CONSTRAINT "login_routes_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;
