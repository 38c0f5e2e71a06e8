-- CreateTable
CREATE TABLE "authz_service_role" (
    "service" TEXT NOT NULL,
    "flwr_aid" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "authz_service_role_pkey" PRIMARY KEY ("service","flwr_aid")
);

-- CreateIndex
CREATE INDEX "authz_service_role_service_role_idx" ON "authz_service_role"("service", "role");

-- The roles granted before this table existed, from the read model (the nil event id marks them).
INSERT INTO "authz_service_role" ("service", "flwr_aid", "role", "event_id")
SELECT "service", "flwr_aid", "role", '00000000-0000-0000-0000-000000000000'::uuid FROM "authz_service_member"
ON CONFLICT DO NOTHING;
