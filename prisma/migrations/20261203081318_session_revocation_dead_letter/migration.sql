-- AlterTable
ALTER TABLE "login_session" ADD COLUMN     "idp_sid" TEXT;

-- CreateTable
CREATE TABLE "session_revocation" (
    "session_id" UUID NOT NULL,
    "idp_sid" TEXT,
    "flwr_aid" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "revoked_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "forget_after" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "session_revocation_pkey" PRIMARY KEY ("session_id")
);

-- CreateTable
CREATE TABLE "outbox_dead_letter" (
    "id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "topic" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "event" JSONB NOT NULL,
    "size_bytes" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    "dead_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbox_dead_letter_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "session_revocation_revoked_at_idx" ON "session_revocation"("revoked_at");

-- CreateIndex
CREATE INDEX "session_revocation_forget_after_idx" ON "session_revocation"("forget_after");
