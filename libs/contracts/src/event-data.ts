import { z } from 'zod';
import { AccountSchema, FlwrAidSchema } from './accounts';
import { ConsistencyTokenSchema, DecisionIdSchema, ServiceNameSchema } from './authorization';
import { OPENFGA_MAX_OBJECT_CHARS, OPENFGA_MAX_RELATION_CHARS } from './openfga-ids';
import { RunIdSchema, RunMemberRoleSchema, ServiceRoleSchema } from './runs';
import { TokenHashSchema, TokenRejectionCodeSchema } from './tokens';

/**
 * The `data` of each Fedgate event type, one schema per type and version.
 * Rules: never a raw token (only `*_hash` = sha256Hex), never a secret; a v1
 * schema only ever gains optional fields — anything else is a new version.
 */

/** Correlates the steps of one device login: sha256Hex(device_code). */
const deviceCodeHash = TokenHashSchema;
const seconds = z.number().int().nonnegative();

/** A login session (one refresh-token family); revocation and reuse detection act on it. */
export const SessionIdSchema = z.string().min(1).max(256);

/** An account that performed an admin action; null when the stack bootstrap did it. */
const actingFlwrAid = FlwrAidSchema.nullable();

// login / session topic ------------------------------------------------------

/** Who asked: the authenticated REST client (its key's id) and the caller's address. */
export const RequestOriginSchema = z.object({
  client_id: z.string().min(1).max(128),
  source_ip: z.string().max(64).optional(),
});
const origin = RequestOriginSchema.optional();
/** Polls answered `authorization_pending` before the final outcome (counted, not emitted). */
const pendingPolls = z.number().int().nonnegative().optional();

export const LoginStartedDataSchema = z.object({
  device_code_hash: deviceCodeHash,
  /** Scopes requested from the IdP (space-delimited). */
  scope: z.string(),
  expires_in: seconds,
  interval: seconds,
  idp_issuer: z.string().min(1),
  origin,
});

export const LoginSucceededDataSchema = z.object({
  device_code_hash: deviceCodeHash,
  account: AccountSchema,
  session_id: SessionIdSchema,
  access_token_hash: TokenHashSchema,
  refresh_token_hash: TokenHashSchema,
  expires_in: seconds,
  pending_polls: pendingPolls,
  origin,
});

export const LoginDeniedDataSchema = z.object({
  device_code_hash: deviceCodeHash,
  /** The RFC 8628 outcome that ended the login. */
  error: z.enum(['access_denied', 'invalid_grant']),
  error_description: z.string(),
  pending_polls: pendingPolls,
  origin,
});

export const LoginExpiredDataSchema = z.object({
  device_code_hash: deviceCodeHash,
  pending_polls: pendingPolls,
  origin,
});

export const TokenRefreshedDataSchema = z.object({
  account: AccountSchema,
  session_id: SessionIdSchema,
  previous_refresh_token_hash: TokenHashSchema,
  access_token_hash: TokenHashSchema,
  refresh_token_hash: TokenHashSchema,
  expires_in: seconds,
  origin,
});

/** A refresh token was used twice: the whole session is revoked (a session.revoked follows). */
export const TokenRefreshReuseDetectedDataSchema = z.object({
  flwr_aid: FlwrAidSchema,
  session_id: SessionIdSchema,
  refresh_token_hash: TokenHashSchema,
  origin,
});

/**
 * A session ends (logout, refresh reuse, admin action). Every token-service
 * instance evicts the listed token hashes and refuses the session from now on.
 */
export const SessionRevokedDataSchema = z.object({
  flwr_aid: FlwrAidSchema,
  session_id: SessionIdSchema.optional(),
  reason: z.enum(['logout', 'refresh_reuse', 'admin']),
  token_hashes: z.array(TokenHashSchema),
  origin,
});

/** An account authenticated; lets other services learn its display name. */
export const AccountSeenDataSchema = z.object({
  account: AccountSchema,
  /**
   * The names the person signs in with, as the IdP vouches for them: preferred_username, and
   * email only when the IdP marks it verified. The authz-service finds a bootstrap admin given
   * by username or email (FEDGATE_ADMIN_LOGIN) by them at its first login.
   */
  login_names: z.array(z.string().min(1).max(320)).max(2).optional(),
});

// token verification topic ---------------------------------------------------

export const TokenVerifiedDataSchema = z.object({
  account: AccountSchema,
  access_token_hash: TokenHashSchema,
  scope: z.string(),
  expires_at: seconds,
  /** How the token was checked: JWT signature via JWKS, or RFC 7662 introspection. */
  method: z.enum(['jwt', 'introspection']),
  cached: z.boolean(),
  origin,
});

export const TokenRejectedDataSchema = z.object({
  access_token_hash: TokenHashSchema,
  error: TokenRejectionCodeSchema,
  error_description: z.string(),
  /** The account the token claims, when it could be read at all. */
  flwr_aid: FlwrAidSchema.optional(),
  /** Header and issuer the token claims (unverified), to spot forgeries and key problems. */
  kid: z.string().max(256).optional(),
  iss: z.string().max(1024).optional(),
  origin,
});

// authz decision topic -------------------------------------------------------

export const AuthzDecisionDataSchema = z.object({
  decision_id: DecisionIdSchema,
  flwr_aid: FlwrAidSchema,
  // Kept as plain bounded strings: the OpenFGA-compatible endpoint may be asked anything, and it is audited too.
  relation: z.string().min(1).max(OPENFGA_MAX_RELATION_CHARS),
  object: z.string().min(1).max(OPENFGA_MAX_OBJECT_CHARS),
  allowed: z.boolean(),
  /** Which API asked. */
  endpoint: z.enum(['check', 'batch_check', 'openfga_check', 'list_runs', 'admin_action']),
  cached: z.boolean(),
  consistency_token: ConsistencyTokenSchema.optional(),
  /** Set when the decision is a fail-closed deny because the backend could not answer. */
  error: z.enum(['authz_unavailable']).optional(),
  // authz-service (issue #5): what the decision was made with, so it can be reproduced.
  /** The OpenFGA authorization model the check ran against. */
  authorization_model_id: z.string().min(1).max(64).optional(),
  /** Projector position decided at: `<generation>:<applied events>` (see authz-service README). */
  projector_position: z.string().regex(/^\d{1,9}:\d{1,19}$/).optional(),
  /** The authenticated REST client that asked, and its address. */
  origin,
});

// ownership & grants topic (event-sourced truth) ------------------------------

export const RunRegisteredDataSchema = z.object({
  run_id: RunIdSchema,
  owner: FlwrAidSchema,
  service: ServiceNameSchema.optional(),
  federation: z.string().min(1).max(256).optional(),
});

export const RunSharedDataSchema = z.object({
  run_id: RunIdSchema,
  flwr_aid: FlwrAidSchema,
  role: RunMemberRoleSchema,
  acting_flwr_aid: actingFlwrAid,
});

export const RunUnsharedDataSchema = z.object({
  run_id: RunIdSchema,
  flwr_aid: FlwrAidSchema,
  acting_flwr_aid: actingFlwrAid,
});

export const AccessGrantedDataSchema = z.object({
  service: ServiceNameSchema,
  flwr_aid: FlwrAidSchema,
  role: ServiceRoleSchema,
  acting_flwr_aid: actingFlwrAid,
});

/** Removes the account from the service: every service role it held is gone. */
export const AccessRevokedDataSchema = z.object({
  service: ServiceNameSchema,
  flwr_aid: FlwrAidSchema,
  acting_flwr_aid: actingFlwrAid,
});

// system topic -----------------------------------------------------------------

/** Infrastructure tests only (e.g. a Kafka round trip); carries nothing sensitive. */
export const SystemTestDataSchema = z.object({
  message: z.string().max(1024),
  nonce: z.string().min(1).max(128).optional(),
});
