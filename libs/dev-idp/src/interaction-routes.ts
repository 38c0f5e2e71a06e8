import type { IncomingMessage, ServerResponse } from 'node:http';
import { DevUserDirectory } from './dev-users';
import { errorPage, loginPage } from './html-pages';
import { RequestBodyError, readFormBody, sendHtml } from './http-helpers';
import type { DevIdpLogger } from './logger';
import type { OidcInteraction, OidcProvider } from './oidc-provider-module';

export interface InteractionRouteDependencies {
  /** The provider currently serving (it is rebuilt when signing keys rotate). */
  currentProvider(): OidcProvider;
  readonly users: DevUserDirectory;
  clientDisplayName(clientId: string | undefined): string;
  readonly log: DevIdpLogger;
}

const interactionPath = /^\/interaction\/([A-Za-z0-9_-]{1,128})(?:\/(login|abort))?$/;

/**
 * The login and consent steps oidc-provider delegates to us (its `interactions.url`):
 *   GET  /interaction/:uid        login form, or automatic consent
 *   POST /interaction/:uid/login  checks username + password against the seeded users
 *   POST /interaction/:uid/abort  the user cancelled → access_denied for the client
 * Returns false when the path is not an interaction path.
 */
export async function handleInteractionRequest(
  request: IncomingMessage,
  response: ServerResponse,
  pathname: string,
  dependencies: InteractionRouteDependencies,
): Promise<boolean> {
  const match = interactionPath.exec(pathname);
  if (!match) return false;
  const [, interactionUid = '', action] = match;
  const expectedMethod = action === undefined ? 'GET' : 'POST';
  if (request.method !== expectedMethod && !(expectedMethod === 'GET' && request.method === 'HEAD')) {
    response.setHeader('allow', expectedMethod);
    sendHtml(response, 405, errorPage('method_not_allowed', `use ${expectedMethod}`));
    return true;
  }

  const provider = dependencies.currentProvider();
  let interaction: OidcInteraction;
  try {
    interaction = await provider.interactionDetails(request, response);
  } catch (error: unknown) {
    // Missing/expired interaction cookie: the user must start again from the device page.
    sendHtml(response, 400, errorPage(oidcErrorCode(error, 'session_not_found'), 'The sign-in session has expired or was not found. Start again on your device.'));
    return true;
  }
  if (interaction.uid !== interactionUid) {
    sendHtml(response, 400, errorPage('interaction_mismatch', 'This sign-in page belongs to another sign-in request.'));
    return true;
  }

  switch (action) {
    case undefined:
      await showInteraction(request, response, provider, interaction, dependencies);
      return true;
    case 'login':
      await submitLogin(request, response, provider, interaction, dependencies);
      return true;
    default:
      await provider.interactionFinished(
        request,
        response,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
      dependencies.log({ level: 'info', event: 'dev_idp.login.cancelled', clientId: interaction.params.client_id });
      return true;
  }
}

async function showInteraction(
  request: IncomingMessage,
  response: ServerResponse,
  provider: OidcProvider,
  interaction: OidcInteraction,
  dependencies: InteractionRouteDependencies,
): Promise<void> {
  switch (interaction.prompt.name) {
    case 'login':
      sendHtml(
        response,
        200,
        loginPage({
          interactionUid: interaction.uid,
          clientName: dependencies.clientDisplayName(interaction.params.client_id),
        }),
      );
      return;
    case 'consent': {
      // A dev IdP with only first-party clients: consent is granted without asking.
      const grantId = await grantRequestedAccess(provider, interaction);
      await provider.interactionFinished(
        request,
        response,
        { consent: interaction.grantId === undefined ? { grantId } : {} },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    default:
      sendHtml(response, 400, errorPage('unsupported_prompt', `prompt ${interaction.prompt.name} is not supported`));
  }
}

async function submitLogin(
  request: IncomingMessage,
  response: ServerResponse,
  provider: OidcProvider,
  interaction: OidcInteraction,
  dependencies: InteractionRouteDependencies,
): Promise<void> {
  if (interaction.prompt.name !== 'login') {
    sendHtml(response, 400, errorPage('unexpected_login', 'This sign-in request is not waiting for a login.'));
    return;
  }
  let form: URLSearchParams;
  try {
    form = await readFormBody(request);
  } catch (error: unknown) {
    if (!(error instanceof RequestBodyError)) throw error;
    sendHtml(response, 400, errorPage('invalid_request', error.message));
    return;
  }
  const username = (form.get('username') ?? '').trim();
  const user = dependencies.users.authenticate(username, form.get('password') ?? '');
  const clientId = interaction.params.client_id;
  if (!user) {
    dependencies.log({ level: 'info', event: 'dev_idp.login.failed', username, clientId });
    sendHtml(
      response,
      200,
      loginPage({
        interactionUid: interaction.uid,
        clientName: dependencies.clientDisplayName(clientId),
        username,
        errorCode: 'invalid_credentials',
      }),
    );
    return;
  }
  dependencies.log({ level: 'info', event: 'dev_idp.login.succeeded', username: user.username, clientId });
  await provider.interactionFinished(
    request,
    response,
    { login: { accountId: user.username } },
    { mergeWithLastSubmission: false },
  );
}

/** Grants exactly what is missing (OIDC scopes, claims, API scopes) — the oidc-provider example's consent step. */
async function grantRequestedAccess(provider: OidcProvider, interaction: OidcInteraction): Promise<string> {
  const accountId = interaction.session?.accountId;
  const clientId = interaction.params.client_id;
  if (accountId === undefined || clientId === undefined) {
    throw new Error('consent interaction without a signed-in account or client');
  }
  const existingGrant = interaction.grantId === undefined ? undefined : await provider.Grant.find(interaction.grantId);
  const grant = existingGrant ?? new provider.Grant({ accountId, clientId });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = interaction.prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims([...missingOIDCClaims]);
  for (const [resourceIndicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
    grant.addResourceScope(resourceIndicator, scopes.join(' '));
  }
  return grant.save();
}

function oidcErrorCode(error: unknown, fallback: string): string {
  const code = (error as { error?: unknown } | null)?.error;
  return typeof code === 'string' ? code : fallback;
}
