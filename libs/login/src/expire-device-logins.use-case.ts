import { createCloudEvent } from '@fedgate/contracts';
import { LOGIN_EVENT_SOURCE, type LoginDeps } from './login-settings';

/**
 * Ends device logins whose code expired while nobody polled any more, so every started
 * login has a final event in the audit log (the poll path ends the others).
 */
export class ExpireDeviceLogins {
  constructor(private readonly deps: Pick<LoginDeps, 'prisma' | 'outbox'>) {}

  async execute(now: Date = new Date()): Promise<number> {
    return this.deps.prisma.$transaction(async (tx) => {
      const expired = await tx.deviceLogin.updateManyAndReturn({ where: { status: 'pending', expiresAt: { lte: now } }, data: { status: 'expired' } });
      await this.deps.outbox.append(
        tx,
        expired.map((login) =>
          createCloudEvent({
            type: 'fedgate.login.expired.v1',
            source: LOGIN_EVENT_SOURCE,
            data: {
              device_code_hash: login.deviceCodeHash,
              pending_polls: login.pendingPolls,
              origin: { client_id: login.clientId, source_ip: login.sourceIp ?? undefined },
            },
          }),
        ),
      );
      return expired.length;
    });
  }
}
