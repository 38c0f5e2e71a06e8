import { z } from 'zod';
import { AccountSchema, FlwrAidSchema } from './accounts';
import { ConsistencyTokenSchema, DecisionIdSchema, ServiceNameSchema } from './authorization';
import { OPENFGA_MAX_OBJECT_CHARS, OPENFGA_MAX_RELATION_CHARS } from './openfga-ids';
import { ApiKeyNameSchema, PrincipalSchema } from './principals';
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

/**
 * Who made an ownership change: a person proven by their own token, or a service key (an
 * operator's recovery); null when the stack's bootstrap did it. Absent only on events
 * written before the trust model (issue #14), which named no verified actor.
 */
const actor = PrincipalSchema.nullish();

// login / session topic ------------------------------------------------------

/** Who asked: the authenticated REST client (its key's id) and the caller's address. */
export const RequestOriginSchema = z.object({
  client_id: z.string().min(1).max(128),
  source_ip: z.string().max(64).optional(),
});
/** Who asked, as every use case that records an event receives it. */
export type RequestOrigin = z.infer<typeof RequestOriginSchema>;
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
 * A session ends (logout, refresh reuse, admin action). Every verifier refuses the session
 * from now on: its tokens by `session_id` and, where the IdP names its session, every token
 * carrying `idp_sid` (also those minted at the IdP without Fedgate). `token_hashes` lists
 * only the session's still-live tokens (bounded by the session's token cap); the durable
 * revoked-session list, not this event, is what verifiers rely on.
 */
export const SessionRevokedDataSchema = z.object({
  flwr_aid: FlwrAidSchema,
  session_id: SessionIdSchema.optional(),
  idp_sid: z.string().min(1).max(256).optional(),
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
  /**
   * The subject the token claims, unverified (anyone can write any name into a forged token):
   * kept to spot attacks, never the event's actor.
   */
  claimed_subject: z.string().max(256).optional(),
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
  endpoint: z.enum(['check', 'batch_check', 'openfga_check', 'list_runs', 'admin_action', 'authorize']),
  /**
   * `POST /v1/authorize`: the person the verified token proves (the event's actor) and the
   * token (its hash and session, never the token), recorded with the decision in this one event.
   */
  account: AccountSchema.optional(),
  access_token_hash: TokenHashSchema.optional(),
  session_id: z.string().min(1).max(256).optional(),
  /** The service key that asked (absent for a person acting with their token alone). */
  client_id: ApiKeyNameSchema.optional(),
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
  /** The run's service (run ids are unique per service); absent on events before issue #14. */
  service: ServiceNameSchema.optional(),
  flwr_aid: FlwrAidSchema,
  role: RunMemberRoleSchema,
  actor,
});

export const RunUnsharedDataSchema = z.object({
  run_id: RunIdSchema,
  service: ServiceNameSchema.optional(),
  flwr_aid: FlwrAidSchema,
  actor,
});

export const AccessGrantedDataSchema = z.object({
  service: ServiceNameSchema,
  flwr_aid: FlwrAidSchema,
  role: ServiceRoleSchema,
  actor,
});

/** Removes the account from the service: every service role it held is gone. */
export const AccessRevokedDataSchema = z.object({
  service: ServiceNameSchema,
  flwr_aid: FlwrAidSchema,
  actor,
});

/** The longest action and reason a refusal may record: requestRefusedEvent cuts to these. */
export const REQUEST_REFUSED_MAX_ACTION_CHARS = 64;
export const REQUEST_REFUSED_MAX_REASON_CHARS = 500;

/**
 * A service key was used outside its roles or services (403 forbidden, nothing changed), or
 * a person's token did not allow what was asked. The actor is the key, or the verified person.
 * Built by requestRefusedEvent only.
 */
export const RequestRefusedDataSchema = z.object({
  actor: PrincipalSchema,
  /** The key that carried the request, when a person acted through one. */
  client_id: ApiKeyNameSchema.optional(),
  /** What was attempted, e.g. `access.grant`, `run.register`, `check`. */
  action: z.string().min(1).max(REQUEST_REFUSED_MAX_ACTION_CHARS),
  object: z.string().min(1).max(OPENFGA_MAX_OBJECT_CHARS).optional(),
  reason: z.string().min(1).max(REQUEST_REFUSED_MAX_REASON_CHARS),
  origin,
});

// audit topic ------------------------------------------------------------------

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * The audit log no longer extends the checkpoint its service signed last (rows or checkpoints
 * removed or rewritten in the database); the service refuses to sign until it does again.
 */
export const AuditIntegrityFailedDataSchema = z.object({
  /** An IntegrityProblem of GET /v1/integrity, e.g. `checkpoint_mismatch`, `truncated`. */
  problem: z.string().min(1).max(64),
  /** The first seq the log no longer proves (for a truncation: the first missing seq). */
  first_bad_seq: z.number().int().positive(),
  truncated_at: z.number().int().positive().optional(),
  /** The id of the log's signing key: which audit log this is about. */
  key_id: z.string().min(1).max(64),
  /** The last checkpoint signed, as kept outside the database. */
  checkpoint: z.object({ seq: z.number().int().positive(), head_hash: Sha256Hex }),
  /** The head the database holds now. */
  head: z.object({ seq: z.number().int().nonnegative(), hash: Sha256Hex }).nullable(),
});

// system topic -----------------------------------------------------------------

/**
 * An alert: Kafka refused an event for good (too large for the broker, or invalid), so the
 * outbox relay moved it to the dead-letter table (`outbox_dead_letter`) and went on with the
 * rest. The event itself stays there for an operator; this names it.
 */
export const OutboxDeadLetteredDataSchema = z.object({
  event_id: z.string().uuid(),
  event_type: z.string().min(1).max(256),
  topic: z.string().min(1).max(256),
  size_bytes: z.number().int().min(0),
  reason: z.string().min(1).max(500),
});

/** Infrastructure tests only (e.g. a Kafka round trip); carries nothing sensitive. */
export const SystemTestDataSchema = z.object({
  message: z.string().max(1024),
  nonce: z.string().min(1).max(128).optional(),
});
