-- AlterTable
ALTER TABLE "deployments" ALTER COLUMN "environment" DROP NOT NULL,
ALTER COLUMN "meltano_jobs" SET DEFAULT '[]';

-- AlterTable
ALTER TABLE "schedules" ADD COLUMN     "position" INTEGER NOT NULL DEFAULT 0,
ALTER COLUMN "env" SET DEFAULT '[]';

-- CreateIndex
CREATE INDEX "schedules_deployment_id_position_idx" ON "schedules"("deployment_id", "position");

-- Existing schedules keep the order they were listed in (by name) until their next deploy
-- writes meltano.yml's order.
UPDATE "schedules" AS s SET "position" = r.n
FROM (SELECT "id", (row_number() OVER (PARTITION BY "deployment_id" ORDER BY "name") - 1)::int AS n FROM "schedules") AS r
WHERE s."id" = r."id";
