import { DynamicModule, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { openApiDocument } from '@fedgate/contracts';
import { DatabaseModule, DatabaseReadinessCheck, OutboxStore, PrismaService } from '@fedgate/database';
import { KafkaModule, KafkaReadinessCheck, kafkaSettingsFromConfig } from '@fedgate/kafka';
import { DEFAULT_DEVICE_FLOW_POLICY, ExpireDeviceLogins, IdentityProviderClient, Logout, PollDeviceLogin, RefreshSession, SessionPolicy, StartDeviceLogin, type LoginDeps, LOGIN_EVENT_SOURCE } from '@fedgate/login';
import { PlatformModule, oidcDiscoveryReadinessCheck, provideKeyRefusals, provideUseCases } from '@fedgate/platform';
import type { LoginServiceConfig } from '@fedgate/service-config';
import { DeviceLoginSweeper, SWEEP_INTERVAL_MS } from './device-login.sweeper';
import { LoginRateLimitGuard } from './login-rate-limit.guard';
import { LoginController } from './login.controller';
import { OAuth2Controller } from './oauth2.controller';

const LOGIN_DEPS = Symbol('LOGIN_DEPS');

/** The service's own routes (PlatformModule adds /healthz, /readyz, /metrics, /openapi.json, /docs). */
export const LOGIN_CONTROLLERS = [LoginController, OAuth2Controller];

/** Device flow against the upstream IdP for `flwr login`; refresh; logout. */
@Module({})
export class LoginServiceModule {
  static register(config: LoginServiceConfig): DynamicModule {
    const sessions: SessionPolicy = { maxTokens: config.FEDGATE_SESSION_MAX_TOKENS, revocationRetainSeconds: config.FEDGATE_TOKEN_MAX_LIFETIME_SECONDS };
    return {
      module: LoginServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        KafkaModule.forRoot({ settings: kafkaSettingsFromConfig('login-service', config), service: 'login-service', outboxRelay: true }),
        // LoginRateLimitGuard's budget: this many calls of one login operation per window, per client and source
        ThrottlerModule.forRoot({ throttlers: [{ name: 'default', ttl: config.FEDGATE_LOGIN_RATE_WINDOW_MS, limit: config.FEDGATE_LOGIN_RATE_LIMIT }] }),
        PlatformModule.forRoot({
          serviceName: 'login-service',
          openApi: openApiDocument('login'),
          apiKeys: config.FEDGATE_API_KEYS,
          readiness: { inject: [DatabaseReadinessCheck, KafkaReadinessCheck], checks: [oidcDiscoveryReadinessCheck(config.FEDGATE_OIDC_ISSUER)] },
        }),
      ],
      controllers: LOGIN_CONTROLLERS,
      providers: [
        {
          provide: IdentityProviderClient,
          useValue: new IdentityProviderClient({
            issuer: config.FEDGATE_OIDC_ISSUER,
            clientId: config.FEDGATE_OIDC_CLIENT_ID,
            clientSecret: config.FEDGATE_OIDC_CLIENT_SECRET,
            defaultScope: config.FEDGATE_OIDC_SCOPE,
            extraAuthorizationParameters: config.FEDGATE_OIDC_EXTRA_PARAMS,
            timeoutMs: config.FEDGATE_OIDC_TIMEOUT_MS,
            audience: config.FEDGATE_OIDC_AUDIENCE,
          }),
        },
        {
          provide: LOGIN_DEPS,
          useFactory: (prisma: PrismaService, outbox: OutboxStore, idp: IdentityProviderClient): LoginDeps => ({ prisma: prisma.client, outbox, idp, deviceFlow: DEFAULT_DEVICE_FLOW_POLICY, sessions }),
          inject: [PrismaService, OutboxStore, IdentityProviderClient],
        },
        ...provideUseCases<LoginDeps>(LOGIN_DEPS, [StartDeviceLogin, PollDeviceLogin, RefreshSession, Logout, ExpireDeviceLogins]),
        { provide: SWEEP_INTERVAL_MS, useValue: config.FEDGATE_LOGIN_SWEEP_MS },
        DeviceLoginSweeper,
        LoginRateLimitGuard,
        // a key without the superlink role is refused, and the refusal audited through the outbox
        provideKeyRefusals(LOGIN_EVENT_SOURCE, OutboxStore),
      ],
    };
  }
}
