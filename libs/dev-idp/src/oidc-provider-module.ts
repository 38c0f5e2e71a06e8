import type { IncomingMessage, ServerResponse } from 'node:http';

// oidc-provider ships no type declarations (and `import Provider from 'oidc-provider'`
// fails with TS7016 under strict). Instead of a global `declare module` that would leak
// into every project of the repo, this file is the one typed doorway to the package:
// it declares only the slice of the API the dev IdP uses and loads the package with
// require(), which Node >= 20.19 supports for ES modules.

/** The koa context as oidc-provider hands it to configuration callbacks. */
export interface OidcContext {
  body: unknown;
  type: string;
  status: number;
  /** The Node request (koa's ctx.req). */
  readonly req: { readonly socket: { readonly remoteAddress?: string } };
  readonly oidc: {
    readonly route?: string;
    readonly params?: Readonly<Record<string, unknown>>;
    readonly client?: OidcClient;
  };
}

export interface OidcClient {
  readonly clientId: string;
  readonly clientName?: string;
  readonly clientAuthMethod: string;
  grantTypeAllowed(grantType: string): boolean;
}

/** Access/refresh tokens and device codes as seen by policy callbacks. */
export interface OidcTokenLike {
  readonly clientId?: string;
  readonly accountId?: string;
  readonly kind?: string;
  readonly scopes: ReadonlySet<string>;
  /** The grant (one device login of one client) the token belongs to; refreshes keep it. */
  readonly grantId?: string;
  /** The browser session's id for the client, when oidc-provider records one. */
  readonly sid?: string;
}

export interface OidcAccount {
  accountId: string;
  claims(use: string, scope: string): Promise<Record<string, unknown>>;
}

export interface OidcResourceServerInfo {
  scope: string;
  audience: string;
  accessTokenTTL: number;
  accessTokenFormat: 'jwt' | 'opaque';
  jwt: { sign: { alg: string } };
}

export interface OidcInteraction {
  readonly uid: string;
  readonly kind: string;
  readonly returnTo: string;
  readonly grantId?: string;
  readonly prompt: {
    readonly name: string;
    readonly reasons: readonly string[];
    readonly details: OidcConsentDetails & Readonly<Record<string, unknown>>;
  };
  readonly params: Readonly<Record<string, unknown>> & { readonly client_id?: string; readonly scope?: string };
  readonly session?: { readonly accountId: string; readonly uid: string };
}

export interface OidcConsentDetails {
  readonly missingOIDCScope?: readonly string[];
  readonly missingOIDCClaims?: readonly string[];
  readonly missingResourceScopes?: Readonly<Record<string, readonly string[]>>;
}

export interface OidcGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resourceIndicator: string, scope: string): void;
  save(): Promise<string>;
}

export interface OidcGrantConstructor {
  new (properties: { accountId: string; clientId: string }): OidcGrant;
  find(grantId: string): Promise<OidcGrant | undefined>;
}

export type OidcInteractionResult =
  | { login: { accountId: string } }
  | { consent: { grantId?: string } }
  | { error: string; error_description?: string };

/** Storage adapter contract (oidc-provider's `adapter` configuration). */
export interface OidcAdapter {
  upsert(id: string, payload: OidcAdapterPayload, expiresInSeconds?: number): Promise<void>;
  find(id: string): Promise<OidcAdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<OidcAdapterPayload | undefined>;
  findByUid(uid: string): Promise<OidcAdapterPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface OidcAdapterPayload {
  [property: string]: unknown;
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
}

export interface OidcProvider {
  readonly issuer: string;
  readonly Grant: OidcGrantConstructor;
  callback(): (request: IncomingMessage, response: ServerResponse) => void;
  interactionDetails(request: IncomingMessage, response: ServerResponse): Promise<OidcInteraction>;
  interactionFinished(
    request: IncomingMessage,
    response: ServerResponse,
    result: OidcInteractionResult,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  on(event: 'server_error', listener: (context: OidcContext, error: Error) => void): this;
}

export type OidcProviderConstructor = new (issuer: string, configuration: object) => OidcProvider;

/** Error classes oidc-provider recognises when thrown from configuration callbacks. */
export interface OidcErrors {
  InvalidTarget: new (description?: string) => Error;
}

interface OidcProviderModule {
  default: OidcProviderConstructor;
  errors: OidcErrors;
}

// Loaded on first use: importing the library (e.g. the CLI's `dev approve`, which only
// drives the IdP over HTTP) must not load oidc-provider and its runtime warning.
let loaded: OidcProviderModule | undefined;
export function oidcProviderModule(): OidcProviderModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('oidc-provider') as OidcProviderModule;
  return loaded;
}
