-- Least privilege (README "Database roles"). The owner role runs the migrations and owns every
-- table; each service connects as its own role (infra/postgres/roles.psql creates them) with only
-- the tables and verbs it uses. A grant to a role that does not exist (a database set up without
-- roles.psql) is skipped, so the migration still applies there.

-- fedgate_grant('role', 'VERBS', 'TABLE name' | 'SEQUENCE name'): a later migration grants its
-- new table with one line.
CREATE OR REPLACE FUNCTION fedgate_grant(role_name text, privileges text, object text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
    EXECUTE format('GRANT %s ON %s TO %I', privileges, object, role_name);
  END IF;
END
$$;

-- Only the roles it is for may connect (roles.psql does the same; here for databases it did not make, e.g. tests' scratch ones).
DO $$
DECLARE r text;
BEGIN
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  FOREACH r IN ARRAY ARRAY['fedgate_login', 'fedgate_token', 'fedgate_authz', 'fedgate_audit', 'fedgate_audit_maintenance'] LOOP
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), r);
    END IF;
  END LOOP;
END
$$;

-- login-service: device logins and sessions; events through the outbox (its relay publishes and prunes it).
SELECT fedgate_grant('fedgate_login', 'SELECT, INSERT, UPDATE, DELETE', 'TABLE outbox_event');
SELECT fedgate_grant('fedgate_login', 'USAGE', 'SEQUENCE outbox_event_seq_seq');
SELECT fedgate_grant('fedgate_login', 'SELECT, INSERT, UPDATE', 'TABLE device_login');
SELECT fedgate_grant('fedgate_login', 'SELECT, INSERT, UPDATE', 'TABLE login_session');
SELECT fedgate_grant('fedgate_login', 'SELECT, INSERT, UPDATE', 'TABLE session_token');

-- token-service: only its verification events, through the outbox (revocations reach it over Kafka).
SELECT fedgate_grant('fedgate_token', 'SELECT, INSERT, UPDATE, DELETE', 'TABLE outbox_event');
SELECT fedgate_grant('fedgate_token', 'USAGE', 'SEQUENCE outbox_event_seq_seq');

-- authz-service: run claims and bootstrap grants (command side), the projections it rebuilds
-- (TRUNCATE), the projector's processed events and position; decisions through the outbox.
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT, UPDATE, DELETE', 'TABLE outbox_event');
SELECT fedgate_grant('fedgate_authz', 'USAGE', 'SEQUENCE outbox_event_seq_seq');
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT, DELETE', 'TABLE processed_event');
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT', 'TABLE authz_run_claim');
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT', 'TABLE authz_bootstrap_grant');
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE', 'TABLE authz_run');
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE', 'TABLE authz_run_member');
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE', 'TABLE authz_service_member');
SELECT fedgate_grant('fedgate_authz', 'SELECT, INSERT, UPDATE', 'TABLE authz_projection');

-- audit-service: append and read the audit tables, nothing else.
SELECT fedgate_grant('fedgate_audit', 'SELECT, INSERT', 'TABLE audit_event');
SELECT fedgate_grant('fedgate_audit', 'SELECT, INSERT', 'TABLE audit_checkpoint');

-- The documented maintenance role: the only one the trigger below lets change audit rows.
SELECT fedgate_grant('fedgate_audit_maintenance', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE', 'TABLE audit_event');
SELECT fedgate_grant('fedgate_audit_maintenance', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE', 'TABLE audit_checkpoint');

-- Audit rows are insert-only for every role but fedgate_audit_maintenance, the owner included
-- (the guarantee pgAudit-style deployments give). Per statement: ingest (INSERT) pays nothing.
-- The owner can still drop the trigger: the owner's credential is for migrations only.
CREATE OR REPLACE FUNCTION fedgate_audit_rows_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'fedgate_audit_maintenance') AND pg_has_role(current_user, 'fedgate_audit_maintenance', 'MEMBER') THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION '% on % refused: audit rows are append-only (only the fedgate_audit_maintenance role may change them)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION fedgate_audit_rows_append_only();
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoint
  FOR EACH STATEMENT EXECUTE FUNCTION fedgate_audit_rows_append_only();
