-- The bootstrap admin named by username or email (FEDGATE_ADMIN_LOGIN), resolved once per
-- service and name to the account that logged in first under it.
CREATE TABLE "authz_bootstrap_login" (
    "service" TEXT NOT NULL,
    "login" TEXT NOT NULL,
    "flwr_aid" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "authz_bootstrap_login_pkey" PRIMARY KEY ("service","login")
);
