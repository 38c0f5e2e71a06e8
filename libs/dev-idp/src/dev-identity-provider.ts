import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { DevUserDirectory, defaultDevUserSeeds, type DevUserSeed } from './dev-users';
import {
  type DeviceCodeInputError,
  deviceCodeConfirmPage,
  deviceCodeInputPage,
  deviceSuccessPage,
  errorPage,
} from './html-pages';
import { RequestBodyError, isLoopbackAddress, readBody, sendHtml, sendJson, sendText } from './http-helpers';
import { InMemoryOidcStore } from './in-memory-adapter';
import { handleInteractionRequest } from './interaction-routes';
import { type DevIdpLogger, silentLogger } from './logger';
import { DEVICE_VERIFICATION_PATH, UserCodeGuessLimit } from './user-code-guess-limit';
import {
  oidcProviderModule,
  type OidcAccount,
  type OidcClient,
  type OidcContext,
  type OidcProvider,
  type OidcResourceServerInfo,
  type OidcTokenLike,
} from './oidc-provider-module';
import { type SigningJwk, generateSigningKey, loadOrCreateSigningKeys, writeSigningKeyFile } from './signing-keys';

export const deviceCodeGrantType = 'urn:ietf:params:oauth:grant-type:device_code';

export interface DevIdentityProviderOptions {
  /** PEM server certificate (chain) and key, e.g. .fedgate/tls/server.pem + server-key.pem. */
  readonly tls: { readonly certFile: string; readonly keyFile: string };
  /** Audience (resource indicator) of every access token, e.g. IDP_API_AUDIENCE. */
  readonly apiAudience: string;
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** Issuer URL; default https://127.0.0.1:<bound port>. Must be https and have no path. */
  readonly issuer?: string;
  /** The public device-flow client; default 'fedgate'. */
  readonly clientId?: string;
  /** Adds a confidential client (client_secret_basic) when given, e.g. for introspection. */
  readonly confidentialClient?: { readonly clientId?: string; readonly clientSecret: string };
  /** Scopes of the API resource server; default api:read api:write. */
  readonly apiScopes?: readonly string[];
  /** Users who can sign in; default alice/alice-password and bob/bob-password. */
  readonly users?: readonly DevUserSeed[];
  /** Where the private signing keys persist across restarts; omitted → in memory only. */
  readonly jwksFile?: string;
  /** Enables POST /dev/rotate-keys (loopback callers presenting `Authorization: Bearer <adminKey>`). */
  readonly adminKey?: string;
  /** Access token lifetime; default 300 s. */
  readonly accessTokenTtlSeconds?: number;
  /** Refresh token lifetime (renewed on each rotation); default 86400 s. */
  readonly refreshTokenTtlSeconds?: number;
  /** Device code / user code lifetime; default 600 s. */
  readonly deviceCodeTtlSeconds?: number;
  /**
   * RFC 8628 §5.1: wrong user codes one source address may enter at the verification page
   * per window before it is refused (429) until the window ends. Default 10 per 600 s.
   */
  readonly userCodeGuessLimit?: { readonly attempts: number; readonly windowSeconds: number };
  /** Structured log sink; default silent. Entries never contain tokens, codes or passwords. */
  readonly logger?: DevIdpLogger;
}

export interface SigningKeyRotation {
  /** kid of the key that signs from now on. */
  readonly currentKid: string;
  /** Every kid published in the JWKS, current first. */
  readonly verificationKids: readonly string[];
  /** kids removed by this rotation (only with dropPrevious). */
  readonly droppedKids: readonly string[];
}

export interface RotateSigningKeysOptions {
  /** Remove every previous key, so tokens they signed no longer verify. */
  readonly dropPrevious?: boolean;
}

export interface DevIdentityProvider {
  readonly issuer: string;
  readonly port: number;
  readonly clientId: string;
  readonly confidentialClientId: string | undefined;
  readonly apiAudience: string;
  readonly server: Server;
  /** Published kids, the current signer first. */
  signingKeyIds(): string[];
  /** Adds a new signing key as current; keeps the old ones for verification unless dropPrevious. */
  rotateSigningKeys(options?: RotateSigningKeysOptions): Promise<SigningKeyRotation>;
  close(): Promise<void>;
}

interface ResolvedSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly confidentialClient: { readonly clientId: string; readonly clientSecret: string } | undefined;
  readonly apiAudience: string;
  readonly apiScopes: readonly string[];
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly deviceCodeTtlSeconds: number;
  readonly cookieKeys: readonly string[];
}

const defaultApiScopes = ['api:read', 'api:write'];

/**
 * Starts the development OIDC identity provider: oidc-provider behind node:https with the
 * device flow, RS256 JWT access tokens for the API audience, rotating refresh tokens,
 * revocation, introspection, userinfo, a real password login and dev key rotation.
 */
export async function createDevIdentityProvider(options: DevIdentityProviderOptions): Promise<DevIdentityProvider> {
  validateOptions(options);
  const log = options.logger ?? silentLogger;
  const users = new DevUserDirectory(options.users ?? defaultDevUserSeeds);
  const [certificate, privateKey] = await Promise.all([
    readFile(options.tls.certFile),
    readFile(options.tls.keyFile),
  ]);
  let signingKeys = await loadOrCreateSigningKeys(options.jwksFile);
  const userCodeGuesses = new UserCodeGuessLimit(options.userCodeGuessLimit ?? { attempts: 10, windowSeconds: 600 });
  const store = new InMemoryOidcStore();
  const clientId = options.clientId ?? 'fedgate';
  const confidentialClient =
    options.confidentialClient === undefined
      ? undefined
      : {
          clientId: options.confidentialClient.clientId ?? 'fedgate-confidential',
          clientSecret: options.confidentialClient.clientSecret,
        };
  const clientNames = new Map<string, string>([[clientId, 'Fedgate']]);
  if (confidentialClient) clientNames.set(confidentialClient.clientId, 'Fedgate (confidential)');
  const clientDisplayName = (id: string | undefined): string =>
    (id === undefined ? undefined : clientNames.get(id)) ?? id ?? 'unknown client';

  // The provider is created once the port is known (the issuer contains it); until then
  // only /healthz answers.
  let provider: OidcProvider | undefined;
  let providerCallback: ((request: IncomingMessage, response: ServerResponse) => void) | undefined;
  let settings: ResolvedSettings | undefined;

  const installProvider = (): void => {
    if (!settings) throw new Error('dev IdP settings are not resolved yet');
    const next = new (oidcProviderModule().default)(settings.issuer, buildProviderConfiguration(settings, signingKeys, users, store, userCodeGuesses));
    next.on('server_error', (_context, error) => {
      log({ level: 'error', event: 'dev_idp.server_error', errorName: error.name, errorMessage: error.message });
    });
    provider = next;
    providerCallback = next.callback();
  };
  const currentProvider = (): OidcProvider => {
    if (!provider) throw new Error('dev IdP provider is not started');
    return provider;
  };

  let rotationQueue: Promise<unknown> = Promise.resolve();
  const rotateSigningKeys = (rotation: RotateSigningKeysOptions = {}): Promise<SigningKeyRotation> => {
    const rotated = rotationQueue.then(async (): Promise<SigningKeyRotation> => {
      const newKey = await generateSigningKey();
      const droppedKids = rotation.dropPrevious ? signingKeys.map((key) => key.kid) : [];
      const nextKeys = rotation.dropPrevious ? [newKey] : [newKey, ...signingKeys];
      if (options.jwksFile !== undefined) await writeSigningKeyFile(options.jwksFile, nextKeys);
      signingKeys = nextKeys;
      // oidc-provider reads its keystore once at construction, so a rotation swaps in a
      // new provider over the same store and cookie keys: sessions and tokens survive.
      installProvider();
      const result = { currentKid: newKey.kid, verificationKids: nextKeys.map((key) => key.kid), droppedKids };
      log({ level: 'info', event: 'dev_idp.signing_keys.rotated', ...result });
      return result;
    });
    rotationQueue = rotated.catch(() => undefined);
    return rotated;
  };

  const handleAdminRotate = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (options.adminKey === undefined) {
      sendJson(response, 404, { error: 'not_found', error_description: 'admin endpoints are disabled (no admin key)' });
      return;
    }
    if (!isLoopbackAddress(request.socket.remoteAddress)) {
      sendJson(response, 403, { error: 'forbidden', error_description: 'admin endpoints answer loopback callers only' });
      return;
    }
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      sendJson(response, 405, { error: 'method_not_allowed' });
      return;
    }
    if (!presentsAdminKey(request, options.adminKey)) {
      response.setHeader('www-authenticate', 'Bearer realm="dev-idp-admin"');
      sendJson(response, 401, { error: 'invalid_admin_key' });
      return;
    }
    let dropPrevious = false;
    try {
      const text = await readBody(request);
      const body: unknown = text.trim() === '' ? {} : JSON.parse(text);
      const requested = (body as { dropPrevious?: unknown } | null)?.dropPrevious;
      if (typeof body !== 'object' || body === null || (requested !== undefined && typeof requested !== 'boolean')) {
        throw new RequestBodyError('body must be a JSON object like {"dropPrevious": true}');
      }
      dropPrevious = requested === true;
    } catch (error: unknown) {
      if (!(error instanceof RequestBodyError) && !(error instanceof SyntaxError)) throw error;
      sendJson(response, 400, { error: 'invalid_request', error_description: 'body must be a JSON object like {"dropPrevious": true}' });
      return;
    }
    sendJson(response, 200, await rotateSigningKeys({ dropPrevious }));
  };

  const routeRequest = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const pathname = new URL(request.url ?? '/', 'https://dev-idp.invalid').pathname;
    if (pathname === DEVICE_VERIFICATION_PATH && request.method === 'POST') {
      const retryAfter = await userCodeGuesses.refusedFor(request.socket.remoteAddress);
      if (retryAfter !== undefined) {
        log({ level: 'warn', event: 'dev_idp.user_code_guesses_limited', retryAfterSeconds: retryAfter });
        response.setHeader('Retry-After', String(retryAfter));
        sendHtml(response, 429, deviceCodeInputPage('', 'too_many_attempts'));
        return;
      }
    }
    if (pathname === '/healthz' && (request.method === 'GET' || request.method === 'HEAD')) {
      sendText(response, 200, 'ok');
      return;
    }
    if (!provider || !providerCallback) {
      sendText(response, 503, 'starting');
      return;
    }
    if (pathname === '/dev/rotate-keys') {
      await handleAdminRotate(request, response);
      return;
    }
    const handled = await handleInteractionRequest(request, response, pathname, {
      currentProvider,
      users,
      clientDisplayName,
      log,
    });
    if (!handled) providerCallback(request, response);
  };

  const server = createServer({ cert: certificate, key: privateKey }, (request, response) => {
    routeRequest(request, response).catch((error: unknown) => {
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      log({ level: 'error', event: 'dev_idp.request_failed', path: request.url?.split('?')[0], errorName: name, errorMessage: message });
      if (!response.headersSent) sendText(response, 500, 'internal error');
      else response.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  try {
    settings = {
      issuer: normaliseIssuer(options.issuer ?? `https://127.0.0.1:${port}`),
      clientId,
      confidentialClient,
      apiAudience: options.apiAudience,
      apiScopes: options.apiScopes ?? defaultApiScopes,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 300,
      refreshTokenTtlSeconds: options.refreshTokenTtlSeconds ?? 86_400,
      deviceCodeTtlSeconds: options.deviceCodeTtlSeconds ?? 600,
      // Random per start: sessions live in memory, so they cannot outlive a restart anyway.
      cookieKeys: [randomBytes(32).toString('hex')],
    };
    installProvider();
  } catch (error: unknown) {
    server.close();
    throw error;
  }
  const { issuer } = settings;

  return {
    issuer,
    port,
    clientId,
    confidentialClientId: confidentialClient?.clientId,
    apiAudience: options.apiAudience,
    server,
    signingKeyIds: () => signingKeys.map((key) => key.kid),
    rotateSigningKeys,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // fetch keeps connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
      }),
  };
}

function validateOptions(options: DevIdentityProviderOptions): void {
  if (!options.apiAudience) throw new TypeError('dev IdP: apiAudience is required');
  for (const [name, value] of [
    ['accessTokenTtlSeconds', options.accessTokenTtlSeconds],
    ['refreshTokenTtlSeconds', options.refreshTokenTtlSeconds],
    ['deviceCodeTtlSeconds', options.deviceCodeTtlSeconds],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
      throw new TypeError(`dev IdP: ${name} must be a positive integer`);
    }
  }
  if (options.confidentialClient !== undefined && options.confidentialClient.clientSecret.length < 16) {
    throw new TypeError('dev IdP: the confidential client secret must have at least 16 characters');
  }
  if (options.adminKey !== undefined && options.adminKey.length < 16) {
    throw new TypeError('dev IdP: the admin key must have at least 16 characters');
  }
}

function normaliseIssuer(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new TypeError(`dev IdP: issuer ${JSON.stringify(issuer)} is not a URL`);
  }
  // The interaction and admin routes live at the server root, so the issuer must too.
  if (url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new TypeError(`dev IdP: issuer ${JSON.stringify(issuer)} must be an https origin without a path`);
  }
  return url.origin;
}

function presentsAdminKey(request: IncomingMessage, adminKey: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!match?.[1]) return false;
  const digestOf = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digestOf(match[1]), digestOf(adminKey));
}

const deviceCodeInputErrors: Readonly<Record<string, DeviceCodeInputError>> = {
  NoCodeError: 'invalid_user_code',
  NotFoundError: 'invalid_user_code',
  ExpiredError: 'expired_user_code',
  AlreadyUsedError: 'used_user_code',
  AbortedError: 'access_denied',
};

/** oidc-provider configuration; a fresh object per call because the provider mutates it. */
function buildProviderConfiguration(
  settings: ResolvedSettings,
  signingKeys: readonly SigningJwk[],
  users: DevUserDirectory,
  store: InMemoryOidcStore,
  userCodeGuesses: UserCodeGuessLimit,
): object {
  const { apiAudience, apiScopes } = settings;
  const clientDisplayName = (context: OidcContext): string => {
    const client = context.oidc.client;
    return client?.clientName ?? client?.clientId ?? 'unknown client';
  };
  const resourceServerInfo: OidcResourceServerInfo = {
    scope: apiScopes.join(' '),
    audience: apiAudience,
    accessTokenTTL: settings.accessTokenTtlSeconds,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
  const deviceFlowClientFields = {
    grant_types: [deviceCodeGrantType, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  };
  const clients: object[] = [
    {
      client_id: settings.clientId,
      client_name: 'Fedgate',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      ...deviceFlowClientFields,
    },
  ];
  if (settings.confidentialClient) {
    clients.push({
      client_id: settings.confidentialClient.clientId,
      client_secret: settings.confidentialClient.clientSecret,
      client_name: 'Fedgate (confidential)',
      token_endpoint_auth_method: 'client_secret_basic',
      ...deviceFlowClientFields,
    });
  }

  return {
    adapter: store.adapterFactory(),
    clients,
    // First key = current signer (oidc-provider signs with the first matching key);
    // the others stay in the published JWKS for verification.
    jwks: { keys: signingKeys.map((key) => ({ ...key })) },
    cookies: { keys: [...settings.cookieKeys] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    // API-audience access tokens cannot be used at userinfo, so the ID token carries the
    // profile claims itself.
    conformIdTokenClaims: false,
    async findAccount(_context: OidcContext, subject: string): Promise<OidcAccount | undefined> {
      const user = users.find(subject);
      if (!user) return undefined;
      return { accountId: user.username, claims: async () => DevUserDirectory.claimsOf(user) };
    },
    // Account-name claims in access tokens (like Keycloak), for the token service's account
    // mapping; and `sid`, the session every token of one login shares (Keycloak sends one too),
    // so revoking the session refuses also tokens minted here without Fedgate. oidc-provider
    // records a sid only for back-channel-logout clients: the grant stands in for it.
    async extraTokenClaims(_context: OidcContext, token: OidcTokenLike): Promise<Record<string, unknown> | undefined> {
      const user = token.accountId === undefined ? undefined : users.find(token.accountId);
      if (!user) return undefined;
      const sid = token.sid ?? token.grantId;
      return { preferred_username: user.username, name: user.name, email: user.email, ...(sid ? { sid } : {}) };
    },
    interactions: {
      url: (_context: OidcContext, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    async issueRefreshToken(_context: OidcContext, client: OidcClient, code: OidcTokenLike): Promise<boolean> {
      return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },
    // Every refresh consumes the presented refresh token and returns a new one; replaying
    // a consumed one revokes the whole grant (oidc-provider's reuse detection).
    rotateRefreshToken: () => true,
    clientBasedCORS: () => false,
    async renderError(context: OidcContext, out: { error?: string; error_description?: string }): Promise<void> {
      context.type = 'html';
      context.body = errorPage(out.error ?? 'server_error', out.error_description);
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        async userCodeInputSource(context: OidcContext, form: string, _out: unknown, error?: Error): Promise<void> {
          // a code that does not exist is a guess: counted against the address (RFC 8628 §5.1)
          if (error?.name === 'NotFoundError') await userCodeGuesses.recordWrong(context.req.socket.remoteAddress);
          context.type = 'html';
          context.body = deviceCodeInputPage(
            form,
            error === undefined ? undefined : (deviceCodeInputErrors[error.name] ?? 'request_failed'),
          );
        },
        async userCodeConfirmSource(
          context: OidcContext,
          form: string,
          _client: OidcClient,
          _deviceInfo: unknown,
          userCode: string,
        ): Promise<void> {
          context.type = 'html';
          context.body = deviceCodeConfirmPage(form, clientDisplayName(context), userCode);
        },
        async successSource(context: OidcContext): Promise<void> {
          context.type = 'html';
          context.body = deviceSuccessPage(clientDisplayName(context));
        },
      },
      revocation: {
        enabled: true,
        // A public client revokes only its own tokens (others are silently ignored, RFC 7009 §2.2);
        // the confidential client (a Fedgate service) may revoke any token, e.g. on logout.
        async allowedPolicy(_context: OidcContext, client: OidcClient, token: OidcTokenLike): Promise<boolean> {
          return token.clientId === client.clientId || client.clientAuthMethod !== 'none';
        },
      },
      introspection: {
        enabled: true,
        async allowedPolicy(_context: OidcContext, client: OidcClient, token: OidcTokenLike): Promise<boolean> {
          return token.clientId === client.clientId || client.clientAuthMethod !== 'none';
        },
      },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Clients need not send `resource`: every device authorization is for the API.
        defaultResource: async () => apiAudience,
        // A token request that narrows `scope` to OIDC scopes only (no API scope) asks
        // for an identity token instead: oidc-provider then issues an opaque, audience-less
        // access token that userinfo accepts. Everything else stays an API JWT.
        async useGrantedResource(context: OidcContext): Promise<boolean> {
          const requestedScope = context.oidc.params?.['scope'];
          if (typeof requestedScope !== 'string') return true;
          return requestedScope.split(' ').some((scope) => apiScopes.includes(scope));
        },
        async getResourceServerInfo(_context: OidcContext, resourceIndicator: string): Promise<OidcResourceServerInfo> {
          if (resourceIndicator !== apiAudience) throw new (oidcProviderModule().errors.InvalidTarget)();
          return { ...resourceServerInfo, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    ttl: {
      AccessToken: settings.accessTokenTtlSeconds,
      IdToken: settings.accessTokenTtlSeconds,
      DeviceCode: settings.deviceCodeTtlSeconds,
      Interaction: settings.deviceCodeTtlSeconds,
      RefreshToken: settings.refreshTokenTtlSeconds,
      // Refresh tokens die with their grant; rotation renews them, so the grant lives longer.
      Grant: Math.max(settings.refreshTokenTtlSeconds, 14 * 86_400),
      Session: 3_600,
    },
  };
}
