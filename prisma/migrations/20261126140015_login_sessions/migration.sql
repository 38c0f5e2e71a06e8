-- CreateTable
CREATE TABLE "device_login" (
    "device_code_hash" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "interval" INTEGER NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "last_poll_at" TIMESTAMPTZ(6),
    "pending_polls" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "client_id" TEXT NOT NULL,
    "source_ip" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "session_id" UUID,

    CONSTRAINT "device_login_pkey" PRIMARY KEY ("device_code_hash")
);

-- CreateTable
CREATE TABLE "login_session" (
    "id" UUID NOT NULL,
    "flwr_aid" TEXT NOT NULL,
    "account_name" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(6),
    "revoked_reason" TEXT,

    CONSTRAINT "login_session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session_token" (
    "token_hash" TEXT NOT NULL,
    "session_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'active',
    "expires_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "session_token_pkey" PRIMARY KEY ("token_hash")
);

-- CreateIndex
CREATE INDEX "device_login_expires_at_idx" ON "device_login"("expires_at");

-- CreateIndex
CREATE INDEX "login_session_flwr_aid_idx" ON "login_session"("flwr_aid");

-- CreateIndex
CREATE INDEX "session_token_session_id_idx" ON "session_token"("session_id");

-- AddForeignKey
ALTER TABLE "session_token" ADD CONSTRAINT "session_token_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "login_session"("id") ON DELETE CASCADE ON UPDATE CASCADE;
