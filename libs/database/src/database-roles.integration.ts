// Least privilege in the stack's PostgreSQL (README "Database roles"): each service's role reaches
// only its own tables, audit rows are insert-only, OpenFGA's role stays in its own database. The
// requests a compromised service would send, as that service's own role (service-env.sh URLs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { databaseUrlNamed, withPg } from '@fedgate/testing';

const env = (name: string): string => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run with scripts/infra/service-env.sh sourced (scripts/test.sh does)`);
  return value;
};
const owner = () => env('FEDGATE_DATABASE_URL');
const role = (service: 'LOGIN' | 'TOKEN' | 'AUTHZ' | 'AUDIT') => env(`FEDGATE_${service}_DATABASE_URL`);

/** The query fails with PostgreSQL's insufficient_privilege (42501). */
async function refused(url: string, sql: string): Promise<void> {
  await assert.rejects(
    withPg(url, (c) => c.query(sql)),
    (err: { code?: string; message: string }) => err.code === '42501' || assert.fail(`${sql}: ${err.code} ${err.message}`),
    sql,
  );
}

const auditRows = () => withPg(owner(), async (c) => (await c.query<{ n: string; sum: string | null }>("SELECT count(*) AS n, md5(string_agg(hash || action, '' ORDER BY seq)) AS sum FROM audit_event")).rows[0]);

describe('database roles', () => {
  it("refuses the audit-service role's DELETE, UPDATE and TRUNCATE of audit rows, and changes nothing", async () => {
    const before = await auditRows();
    assert.ok(Number(before!.n) > 0, 'the stack has audit rows to protect');
    for (const sql of ['DELETE FROM audit_event', "UPDATE audit_event SET action = 'forged'", 'TRUNCATE audit_event', 'DELETE FROM audit_checkpoint', "UPDATE audit_checkpoint SET head_hash = repeat('0', 64)"]) {
      await refused(role('AUDIT'), sql);
    }
    // nor anything outside the audit tables
    for (const sql of ['SELECT 1 FROM outbox_event LIMIT 1', 'SELECT 1 FROM login_session LIMIT 1', 'SELECT 1 FROM authz_run LIMIT 1']) await refused(role('AUDIT'), sql);
    assert.deepEqual(await auditRows(), before);
  });

  it('refuses the owner too: the trigger lets only fedgate_audit_maintenance change audit rows', async () => {
    const before = await auditRows();
    for (const sql of ["UPDATE audit_event SET action = 'forged' WHERE seq = 1", 'DELETE FROM audit_event WHERE seq = 1', 'TRUNCATE audit_checkpoint']) await refused(owner(), sql);
    assert.deepEqual(await auditRows(), before);
  });

  it('keeps the other services out of the audit log: the token-service cannot even read it', async () => {
    await refused(role('TOKEN'), 'SELECT * FROM audit_event LIMIT 1');
    await refused(role('TOKEN'), 'SELECT * FROM audit_checkpoint LIMIT 1');
    await refused(role('TOKEN'), 'SELECT * FROM login_session LIMIT 1');
    for (const service of ['LOGIN', 'AUTHZ'] as const) {
      await refused(role(service), 'SELECT * FROM audit_event LIMIT 1');
      await refused(role(service), 'DELETE FROM audit_event');
    }
    await refused(role('LOGIN'), 'SELECT * FROM authz_run LIMIT 1');
    // authz-service reads session_token (a token's session, for revocations) and nothing else of the logins
    await refused(role('AUTHZ'), 'SELECT * FROM device_login LIMIT 1');
    await refused(role('AUTHZ'), "UPDATE session_token SET status = 'revoked'");
    // and none may change the schema
    await refused(role('AUTHZ'), 'DROP TABLE audit_event');
    await refused(role('LOGIN'), 'CREATE TABLE evil (x int)');
  });

  it("lets each service do what it does (the stack's own traffic passes through these grants)", async () => {
    await withPg(role('TOKEN'), (c) => c.query('SELECT count(*) FROM outbox_event'));
    await withPg(role('AUDIT'), (c) => c.query('SELECT count(*) FROM audit_event'));
    await withPg(role('AUTHZ'), (c) => c.query('SELECT count(*) FROM authz_run_claim'));
    await withPg(role('LOGIN'), (c) => c.query('SELECT count(*) FROM login_session'));
  });

  it("keeps OpenFGA's role out of Fedgate's database, and Fedgate's roles out of OpenFGA's", async () => {
    const openfga = `postgresql://${env('OPENFGA_PG_USER')}:${env('OPENFGA_PG_PASSWORD')}@${new URL(owner()).host}/${env('OPENFGA_PG_DATABASE')}`;
    await withPg(openfga, (c) => c.query('SELECT count(*) FROM tuple'));
    await refused(databaseUrlNamed(openfga, new URL(owner()).pathname.slice(1)), 'SELECT * FROM audit_event LIMIT 1');
    for (const url of [owner(), role('AUTHZ')]) await refused(databaseUrlNamed(url, env('OPENFGA_PG_DATABASE')), 'SELECT * FROM tuple LIMIT 1');
  });
});
