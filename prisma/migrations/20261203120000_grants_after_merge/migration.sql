-- Grants for the tables made beside the least-privilege migration (README "Database roles"):
-- each service role gets only what its code does with them.

-- the durable revoked-session list: the login-service writes it in the revoking transaction;
-- every verifier (token-service, and authz-service for POST /v1/authorize) reads it, finds a
-- token's session, and forgets revocations whose tokens have all expired
SELECT fedgate_grant('fedgate_login', 'SELECT, INSERT', 'TABLE session_revocation');
SELECT fedgate_grant('fedgate_token', 'SELECT, DELETE', 'TABLE session_revocation');
SELECT fedgate_grant('fedgate_authz', 'SELECT, DELETE', 'TABLE session_revocation');
SELECT fedgate_grant('fedgate_token', 'SELECT', 'TABLE session_token');
SELECT fedgate_grant('fedgate_authz', 'SELECT', 'TABLE session_token');

-- the login-service drops a session's expired access-token rows as it caps the session's live tokens
SELECT fedgate_grant('fedgate_login', 'DELETE', 'TABLE session_token');

-- every relay moves what Kafka refuses for good to the dead-letter table
SELECT fedgate_grant('fedgate_login', 'SELECT, INSERT', 'TABLE outbox_dead_letter');
SELECT fedgate_grant('fedgate_token', 'SELECT, INSERT', 'TABLE outbox_dead_letter');
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT', 'TABLE outbox_dead_letter');

-- the authz-service's command-side state: service roles (last-admin guard, member lists; locked
-- FOR UPDATE) and the bootstrap admin resolved by login
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT, UPDATE, DELETE', 'TABLE authz_service_role');
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT', 'TABLE authz_bootstrap_login');
