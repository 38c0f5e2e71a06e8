-- Run ids are unique per service, not across services (each SuperLink numbers its own runs):
-- claims, runs and shares are keyed by (service, run_id). The OpenFGA objects of runs become
-- run:<service>/<run_id>: after this migration, `fedgate authz rebuild` rewrites the tuples of
-- earlier runs from the ownership topic.

-- DropForeignKey
ALTER TABLE "authz_run_member" DROP CONSTRAINT "authz_run_member_run_id_fkey";

-- DropIndex
DROP INDEX "authz_run_service_idx";

-- AlterTable
ALTER TABLE "authz_run" DROP CONSTRAINT "authz_run_pkey",
ADD CONSTRAINT "authz_run_pkey" PRIMARY KEY ("service", "run_id");

-- AlterTable
ALTER TABLE "authz_run_claim" DROP CONSTRAINT "authz_run_claim_pkey",
ADD CONSTRAINT "authz_run_claim_pkey" PRIMARY KEY ("service", "run_id");

-- AlterTable: each share takes its run's service (run ids were unique until now)
ALTER TABLE "authz_run_member" DROP CONSTRAINT "authz_run_member_pkey",
ADD COLUMN     "service" TEXT;
UPDATE "authz_run_member" m SET "service" = r."service" FROM "authz_run" r WHERE r."run_id" = m."run_id";
DELETE FROM "authz_run_member" WHERE "service" IS NULL;
ALTER TABLE "authz_run_member" ALTER COLUMN "service" SET NOT NULL,
ADD CONSTRAINT "authz_run_member_pkey" PRIMARY KEY ("service", "run_id", "flwr_aid");

-- CreateIndex
CREATE INDEX "authz_run_run_id_idx" ON "authz_run"("run_id");

-- CreateIndex
CREATE INDEX "authz_run_claim_run_id_idx" ON "authz_run_claim"("run_id");

-- AddForeignKey
ALTER TABLE "authz_run_member" ADD CONSTRAINT "authz_run_member_service_run_id_fkey" FOREIGN KEY ("service", "run_id") REFERENCES "authz_run"("service", "run_id") ON DELETE CASCADE ON UPDATE CASCADE;
