-- strata:baseline 20261123010000_enums_to_text_domains
-- The tenant migrations up to the one named above, squashed: what they build step by step, built
-- directly. A target with no history gets this instead of replaying them (a new schema's DDL was
-- about half wasted: enum types created, then every table rewritten to move its columns to text
-- domains, then the types dropped), and records each covered migration as applied.
-- test/migrations/baseline.test.ts proves a schema built from it is identical to one migrated step
-- by step (columns and their order, types, defaults, constraints, indexes, RLS, policies, grants).
-- After a new migration, leave this file as it is (later migrations apply after it), or squash again
-- and move the name above.

-- CreateDomain (see 20261123010000_enums_to_text_domains for why these are domains, not enums)
CREATE DOMAIN "user_role" AS TEXT CHECK (VALUE IN ('owner', 'admin', 'manager', 'staff'));
CREATE DOMAIN "user_status" AS TEXT CHECK (VALUE IN ('active', 'deactivated'));
CREATE DOMAIN "lead_status" AS TEXT CHECK (VALUE IN ('new', 'contacted', 'qualified', 'unqualified', 'converted'));
CREATE DOMAIN "deal_stage" AS TEXT CHECK (VALUE IN ('prospecting', 'qualification', 'proposal', 'negotiation', 'won', 'lost'));
CREATE DOMAIN "activity_kind" AS TEXT CHECK (VALUE IN ('note', 'call', 'email', 'meeting'));

-- CreateTable
CREATE TABLE "users" (
    "tenant_id" UUID NOT NULL DEFAULT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid,
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "user_role" NOT NULL DEFAULT 'staff',
    "status" "user_status" NOT NULL DEFAULT 'active',
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_login_at" TIMESTAMPTZ(3),

    CONSTRAINT "users_pkey" PRIMARY KEY ("tenant_id","id")
);

-- CreateTable
CREATE TABLE "leads" (
    "tenant_id" UUID NOT NULL DEFAULT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid,
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "company" TEXT,
    "email" TEXT,
    "phone" TEXT,
    "source" TEXT,
    "status" "lead_status" NOT NULL DEFAULT 'new',
    "owner_id" UUID,
    "assignee_id" UUID,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "leads_pkey" PRIMARY KEY ("tenant_id","id")
);

-- CreateTable
CREATE TABLE "deals" (
    "tenant_id" UUID NOT NULL DEFAULT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid,
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "title" TEXT NOT NULL,
    "amount" DECIMAL(18,2) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "stage" "deal_stage" NOT NULL DEFAULT 'prospecting',
    "lead_id" UUID,
    "owner_id" UUID,
    "close_date" DATE,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deals_pkey" PRIMARY KEY ("tenant_id","id")
);

-- CreateTable
CREATE TABLE "activities" (
    "tenant_id" UUID NOT NULL DEFAULT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid,
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "kind" "activity_kind" NOT NULL,
    "body" TEXT NOT NULL,
    "lead_id" UUID,
    "deal_id" UUID,
    "author_id" UUID,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "activities_pkey" PRIMARY KEY ("tenant_id","id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_tenant_id_email_key" ON "users"("tenant_id", "email");

-- CreateIndex
CREATE INDEX "leads_tenant_id_created_at_id_idx" ON "leads"("tenant_id", "created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "leads_tenant_id_status_idx" ON "leads"("tenant_id", "status");

-- CreateIndex
CREATE INDEX "leads_tenant_id_owner_id_idx" ON "leads"("tenant_id", "owner_id");

-- CreateIndex
CREATE INDEX "leads_tenant_id_assignee_id_idx" ON "leads"("tenant_id", "assignee_id");

-- CreateIndex
CREATE INDEX "deals_tenant_id_created_at_id_idx" ON "deals"("tenant_id", "created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "deals_tenant_id_stage_idx" ON "deals"("tenant_id", "stage");

-- CreateIndex
CREATE INDEX "deals_tenant_id_lead_id_idx" ON "deals"("tenant_id", "lead_id");

-- CreateIndex
CREATE INDEX "deals_tenant_id_owner_id_idx" ON "deals"("tenant_id", "owner_id");

-- CreateIndex
CREATE INDEX "activities_tenant_id_occurred_at_id_idx" ON "activities"("tenant_id", "occurred_at" DESC, "id");

-- CreateIndex
CREATE INDEX "activities_tenant_id_lead_id_idx" ON "activities"("tenant_id", "lead_id");

-- CreateIndex
CREATE INDEX "activities_tenant_id_deal_id_idx" ON "activities"("tenant_id", "deal_id");

-- CreateIndex
CREATE INDEX "activities_tenant_id_author_id_idx" ON "activities"("tenant_id", "author_id");

-- AddForeignKey
ALTER TABLE "leads" ADD CONSTRAINT "leads_tenant_id_owner_id_fkey" FOREIGN KEY ("tenant_id", "owner_id") REFERENCES "users"("tenant_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "leads" ADD CONSTRAINT "leads_tenant_id_assignee_id_fkey" FOREIGN KEY ("tenant_id", "assignee_id") REFERENCES "users"("tenant_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "deals" ADD CONSTRAINT "deals_tenant_id_lead_id_fkey" FOREIGN KEY ("tenant_id", "lead_id") REFERENCES "leads"("tenant_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "deals" ADD CONSTRAINT "deals_tenant_id_owner_id_fkey" FOREIGN KEY ("tenant_id", "owner_id") REFERENCES "users"("tenant_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "activities" ADD CONSTRAINT "activities_tenant_id_lead_id_fkey" FOREIGN KEY ("tenant_id", "lead_id") REFERENCES "leads"("tenant_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "activities" ADD CONSTRAINT "activities_tenant_id_deal_id_fkey" FOREIGN KEY ("tenant_id", "deal_id") REFERENCES "deals"("tenant_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "activities" ADD CONSTRAINT "activities_tenant_id_author_id_fkey" FOREIGN KEY ("tenant_id", "author_id") REFERENCES "users"("tenant_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;

-- Row-level security, identical in every tier (required in the pooled tier, defence in depth in
-- the others). A statement sees and writes only rows of the tenant named by the transaction-local
-- app.tenant_id; with no context the comparison is NULL, so no row at all. FORCE makes the table
-- owner obey it too: only a superuser or BYPASSRLS role could read across tenants.
ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "users" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "users" FOR ALL
    USING ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid)
    WITH CHECK ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid);

ALTER TABLE "leads" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "leads" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "leads" FOR ALL
    USING ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid)
    WITH CHECK ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid);

ALTER TABLE "deals" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "deals" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "deals" FOR ALL
    USING ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid)
    WITH CHECK ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid);

ALTER TABLE "activities" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "activities" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "activities" FOR ALL
    USING ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid)
    WITH CHECK ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid);

-- CreateTable
CREATE TABLE "refresh_tokens" (
    "tenant_id" UUID NOT NULL DEFAULT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid,
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "family_id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "replaced_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "refresh_tokens_pkey" PRIMARY KEY ("tenant_id","id")
);

-- CreateIndex
CREATE INDEX "refresh_tokens_tenant_id_family_id_idx" ON "refresh_tokens"("tenant_id", "family_id");

-- CreateIndex
CREATE INDEX "refresh_tokens_tenant_id_user_id_idx" ON "refresh_tokens"("tenant_id", "user_id");

-- CreateIndex
CREATE UNIQUE INDEX "refresh_tokens_tenant_id_token_hash_key" ON "refresh_tokens"("tenant_id", "token_hash");

-- AddForeignKey
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_tenant_id_user_id_fkey" FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users"("tenant_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- Row-level security, as on every tenant table (see 20261122000000_init).
ALTER TABLE "refresh_tokens" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "refresh_tokens" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "refresh_tokens" FOR ALL
    USING ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid)
    WITH CHECK ("tenant_id" = (NULLIF(current_setting('app.tenant_id', true), ''))::uuid);

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
