-- AlterTable
ALTER TABLE "organization_billing" ADD COLUMN     "limit_notice" TEXT;
