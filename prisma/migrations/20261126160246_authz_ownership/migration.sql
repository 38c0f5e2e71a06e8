-- CreateTable
CREATE TABLE "authz_run_claim" (
    "run_id" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "service" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "authz_run_claim_pkey" PRIMARY KEY ("run_id")
);

-- CreateTable
CREATE TABLE "authz_bootstrap_grant" (
    "service" TEXT NOT NULL,
    "flwr_aid" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "authz_bootstrap_grant_pkey" PRIMARY KEY ("service","flwr_aid")
);

-- CreateTable
CREATE TABLE "authz_run" (
    "run_id" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "service" TEXT NOT NULL,
    "federation" TEXT,
    "registered_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "authz_run_pkey" PRIMARY KEY ("run_id")
);

-- CreateTable
CREATE TABLE "authz_run_member" (
    "run_id" TEXT NOT NULL,
    "flwr_aid" TEXT NOT NULL,
    "role" TEXT NOT NULL,

    CONSTRAINT "authz_run_member_pkey" PRIMARY KEY ("run_id","flwr_aid")
);

-- CreateTable
CREATE TABLE "authz_service_member" (
    "service" TEXT NOT NULL,
    "flwr_aid" TEXT NOT NULL,
    "role" TEXT NOT NULL,

    CONSTRAINT "authz_service_member_pkey" PRIMARY KEY ("service","flwr_aid")
);

-- CreateTable
CREATE TABLE "authz_projection" (
    "id" INTEGER NOT NULL,
    "generation" INTEGER NOT NULL DEFAULT 1,
    "applied_events" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "authz_projection_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "authz_run_owner_idx" ON "authz_run"("owner");

-- CreateIndex
CREATE INDEX "authz_run_service_idx" ON "authz_run"("service");

-- CreateIndex
CREATE INDEX "authz_run_member_flwr_aid_idx" ON "authz_run_member"("flwr_aid");

-- CreateIndex
CREATE INDEX "authz_service_member_flwr_aid_idx" ON "authz_service_member"("flwr_aid");

-- AddForeignKey
ALTER TABLE "authz_run_member" ADD CONSTRAINT "authz_run_member_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "authz_run"("run_id") ON DELETE CASCADE ON UPDATE CASCADE;
