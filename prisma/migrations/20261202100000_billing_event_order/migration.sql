-- DropForeignKey
ALTER TABLE "usage_records" DROP CONSTRAINT "usage_records_organization_id_fkey";

-- AlterTable
ALTER TABLE "organization_billing" ADD COLUMN     "payment_event_at" TIMESTAMPTZ(3),
ADD COLUMN     "subscription_event_at" TIMESTAMPTZ(3);

-- DropTable
DROP TABLE "usage_records";
