import * as oauth from 'oauth4webapi';
import { idpUnavailable, type IdpDiscovery } from './idp-discovery';
import { accountOf, invalid, sessionIdOf } from './token-claims';
import { TokenRejectedError, type UnverifiedTokenFacts, type VerifiedToken } from './verified-token';

export interface TokenIntrospectionRules {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly clockToleranceSeconds: number;
  readonly now: () => number;
}

/**
 * Opaque (non-JWT) tokens by RFC 7662 introspection at the IdP, as a confidential client:
 * an inactive, non-bearer, foreign or expired answer refuses the token.
 */
export class TokenIntrospection {
  constructor(
    private readonly discovery: IdpDiscovery,
    private readonly settings: { readonly clientId: string; readonly clientSecret: string; readonly requireBearerTokenType: boolean } | undefined,
    private readonly rules: TokenIntrospectionRules,
  ) {}

  async verify(token: string, facts: UnverifiedTokenFacts): Promise<VerifiedToken> {
    const settings = this.settings;
    if (settings === undefined) {
      throw invalid('The token is not a JWT, and introspection of opaque tokens is not configured.', facts);
    }
    const server = await this.discovery.discover();
    if (typeof server.introspection_endpoint !== 'string') {
      throw invalid('The token is not a JWT, and the identity provider offers no introspection endpoint.', facts);
    }
    const client: oauth.Client = { client_id: settings.clientId };
    const clientAuth = oauth.ClientSecretBasic(settings.clientSecret);
    let response: Response;
    try {
      response = await oauth.introspectionRequest(server, client, clientAuth, token, {
        additionalParameters: { token_type_hint: 'access_token' },
        ...this.discovery.requestOptions(),
      });
    } catch (error: unknown) {
      throw idpUnavailable('the identity provider did not answer the introspection request', error);
    }
    let answer: oauth.IntrospectionResponse;
    try {
      answer = await oauth.processIntrospectionResponse(server, client, response);
    } catch (error: unknown) {
      // The IdP answered, and not with "active": the token is refused (401), never 503, whatever
      // the reason — a refused client (wrong secret) is a configuration fault the log names
      const status = error instanceof oauth.ResponseBodyError ? error.status : response.status;
      if (status >= 400 && status < 500) {
        const reason = error instanceof oauth.ResponseBodyError ? `${status} ${error.error}` : `HTTP ${status}`;
        const clientRefused = status === 401 || status === 403 || (error instanceof oauth.ResponseBodyError && error.error === 'invalid_client');
        throw invalid(
          clientRefused
            ? `The token is not a JWT and could not be introspected: the identity provider refused Fedgate's introspection client (${reason}; check FEDGATE_OIDC_CLIENT_ID and FEDGATE_OIDC_CLIENT_SECRET).`
            : `The identity provider refused to introspect the token (${reason}).`,
          facts,
          error,
        );
      }
      throw idpUnavailable('the identity provider answered the introspection request with an error', error);
    }
    return this.accept(answer, settings.requireBearerTokenType, facts);
  }

  private accept(answer: oauth.IntrospectionResponse, requireBearer: boolean, baseFacts: UnverifiedTokenFacts): VerifiedToken {
    if (answer.active !== true) {
      throw invalid('The identity provider reports the token as not active (unknown, expired or revoked).', baseFacts);
    }
    const facts: UnverifiedTokenFacts = {
      ...baseFacts,
      ...(typeof answer.iss === 'string' ? { iss: answer.iss } : {}),
      ...(typeof answer.sub === 'string' ? { sub: answer.sub } : {}),
    };
    const tokenType = answer.token_type;
    if (requireBearer && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
      throw invalid(
        `The identity provider does not describe the token as a bearer access token (token_type ${JSON.stringify(tokenType ?? null)}).`,
        facts,
      );
    }
    if (answer.iss !== undefined && answer.iss !== this.rules.issuer) throw invalid('The token was issued by another issuer ("iss").', facts);
    if (answer.aud !== undefined) {
      const audiences = Array.isArray(answer.aud) ? answer.aud : [answer.aud];
      if (!audiences.some((aud) => this.rules.audiences.includes(aud))) {
        throw invalid('The token is not meant for this service ("aud" does not match).', facts);
      }
    }
    const nowSeconds = Math.floor(this.rules.now() / 1000);
    if (typeof answer.exp !== 'number') throw invalid('The identity provider gives the token no expiry ("exp").', facts);
    if (answer.exp <= nowSeconds - this.rules.clockToleranceSeconds) {
      throw new TokenRejectedError('expired_token', 'The token has expired ("exp").', facts);
    }
    if (typeof answer.nbf === 'number' && answer.nbf > nowSeconds + this.rules.clockToleranceSeconds) {
      throw invalid('The token is not valid yet ("nbf").', facts);
    }
    if (typeof answer.sub !== 'string') throw invalid('The identity provider names no subject ("sub") for the token.', facts);
    const account = accountOf(
      {
        sub: answer.sub,
        preferred_username: answer['preferred_username'] ?? answer.username,
        name: answer['name'],
        email: answer['email'],
      },
      facts,
    );
    return {
      account,
      scope: typeof answer.scope === 'string' ? answer.scope : '',
      expires_at: Math.floor(answer.exp),
      method: 'introspection',
      ...(typeof answer.iss === 'string' ? { iss: answer.iss } : {}),
      sub: answer.sub,
      ...(typeof answer.client_id === 'string' ? { client_id: answer.client_id } : {}),
      ...sessionIdOf(answer as Record<string, unknown>),
    };
  }
}
