-- CreateTable
CREATE TABLE "audit_event" (
    "seq" BIGINT NOT NULL,
    "id" TEXT NOT NULL,
    "time" TIMESTAMPTZ(3) NOT NULL,
    "type" TEXT NOT NULL,
    "actor_flwr_aid" TEXT,
    "actor_account_name" TEXT,
    "object" TEXT,
    "action" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "decision_id" TEXT,
    "source" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "hash" CHAR(64) NOT NULL,
    "prev_hash" CHAR(64) NOT NULL,
    "ingested_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "audit_checkpoint" (
    "seq" BIGINT NOT NULL,
    "head_hash" CHAR(64) NOT NULL,
    "time" TIMESTAMPTZ(3) NOT NULL,
    "key_id" TEXT NOT NULL,
    "signature" TEXT NOT NULL,

    CONSTRAINT "audit_checkpoint_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE UNIQUE INDEX "audit_event_id_key" ON "audit_event"("id");

-- CreateIndex
CREATE INDEX "audit_event_actor_flwr_aid_seq_idx" ON "audit_event"("actor_flwr_aid", "seq");

-- CreateIndex
CREATE INDEX "audit_event_type_seq_idx" ON "audit_event"("type", "seq");

-- CreateIndex
CREATE INDEX "audit_event_outcome_seq_idx" ON "audit_event"("outcome", "seq");

-- CreateIndex
CREATE INDEX "audit_event_object_seq_idx" ON "audit_event"("object", "seq");

-- CreateIndex
CREATE INDEX "audit_event_time_seq_idx" ON "audit_event"("time", "seq");

-- CreateIndex
CREATE INDEX "audit_event_subject_idx" ON "audit_event"("subject");
