-- CreateTable
CREATE TABLE "organization_billing" (
    "organization_id" UUID NOT NULL,
    "stripe_subscription_id" TEXT,
    "subscription_status" TEXT,
    "spend_cap_cents" INTEGER,
    "payment_state" TEXT NOT NULL DEFAULT 'none',
    "grace_ends_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "organization_billing_pkey" PRIMARY KEY ("organization_id")
);

-- CreateTable
CREATE TABLE "usage_ledger" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "deployment_id" UUID NOT NULL,
    "schedule_id" UUID,
    "target" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "credits_tenths" INTEGER NOT NULL,
    "trigger" "RunTrigger" NOT NULL,
    "status" "RunStatus" NOT NULL,
    "runs_per_day" DOUBLE PRECISION,
    "frequent" BOOLEAN NOT NULL,
    "billed_seconds" INTEGER NOT NULL,
    "plan" TEXT NOT NULL,
    "finished_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "reported_at" TIMESTAMPTZ(3),
    "stripe_identifier" TEXT,
    "report_attempts" INTEGER NOT NULL DEFAULT 0,
    "first_report_at" TIMESTAMPTZ(3),
    "last_report_error" TEXT,

    CONSTRAINT "usage_ledger_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stripe_events" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "organization_billing_stripe_subscription_id_key" ON "organization_billing"("stripe_subscription_id");

-- CreateIndex
CREATE UNIQUE INDEX "usage_ledger_run_id_key" ON "usage_ledger"("run_id");

-- CreateIndex
CREATE INDEX "usage_ledger_organization_id_period_finished_at_idx" ON "usage_ledger"("organization_id", "period", "finished_at");

-- CreateIndex
CREATE INDEX "usage_ledger_reported_at_created_at_idx" ON "usage_ledger"("reported_at", "created_at");

-- CreateIndex
CREATE INDEX "stripe_events_received_at_idx" ON "stripe_events"("received_at");

-- AddForeignKey
ALTER TABLE "organization_billing" ADD CONSTRAINT "organization_billing_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_ledger" ADD CONSTRAINT "usage_ledger_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
