-- CreateTable
CREATE TABLE "audit_events" (
    "tenant_id" UUID NOT NULL DEFAULT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid,
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "actor_id" UUID,
    "action" TEXT NOT NULL,
    "entity" TEXT NOT NULL,
    "entity_id" UUID NOT NULL,
    "changes" JSONB NOT NULL DEFAULT '{}',
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("tenant_id","id")
);

-- CreateIndex
CREATE INDEX "audit_events_tenant_id_at_id_idx" ON "audit_events"("tenant_id", "at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "audit_events_tenant_id_entity_entity_id_idx" ON "audit_events"("tenant_id", "entity", "entity_id");

-- Row-level security, as on every tenant table (see 20261122000000_init).
ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "audit_events" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "audit_events" FOR ALL
    USING ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid)
    WITH CHECK ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid);
