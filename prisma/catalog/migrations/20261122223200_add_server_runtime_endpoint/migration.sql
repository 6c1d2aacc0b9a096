-- AlterTable
ALTER TABLE "database_servers" ADD COLUMN     "runtime_host" TEXT,
ADD COLUMN     "runtime_port" INTEGER;
