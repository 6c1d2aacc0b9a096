-- CreateTable
CREATE TABLE "migration_failures" (
    "target_id" TEXT NOT NULL,
    "migration" TEXT,
    "error" TEXT NOT NULL,
    "failed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "migration_failures_pkey" PRIMARY KEY ("target_id")
);
