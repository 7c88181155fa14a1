-- Runs lists page by (queued_at, id) row comparison (issue 13): one index range serves every page.
-- DropIndex
DROP INDEX "runs_organization_id_queued_at_idx";

-- CreateIndex
CREATE INDEX "runs_organization_id_queued_at_id_idx" ON "runs"("organization_id", "queued_at", "id");
