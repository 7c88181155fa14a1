-- AlterTable
ALTER TABLE "deployments" ADD COLUMN     "retry_infra_failures" BOOLEAN NOT NULL DEFAULT true;
