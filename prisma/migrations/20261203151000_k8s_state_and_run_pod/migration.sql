-- AlterTable
ALTER TABLE "deployments" ADD COLUMN     "run_pod" JSONB NOT NULL DEFAULT '{}';

-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "state_ids" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "state_token_hash" TEXT;
