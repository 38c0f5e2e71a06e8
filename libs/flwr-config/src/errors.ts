/**
 * Failures of reading a Flower app's federation configuration or of storing its
 * credentials. Callers branch on `code` (stable), never on the message.
 */
export const FLWR_CONFIG_ERROR_CODES = [
  /** APP/pyproject.toml does not exist. */
  'pyproject_not_found',
  /** pyproject.toml cannot be read or is not valid TOML. */
  'invalid_pyproject',
  /** No `[tool.flwr.federations]` section, or it declares no federation table. */
  'no_federations',
  /** No FEDERATION given and the section has no `default`. */
  'no_default_federation',
  /** The named (or default) federation has no table; `knownFederations` lists those that do. */
  'unknown_federation',
  /** The federation name cannot be used as a file name (path separator, `..`, ...). */
  'invalid_federation_name',
  /** The federation table has no `address`. */
  'federation_without_address',
  /** A federation key has the wrong type (e.g. `insecure = "yes"`). */
  'invalid_federation_config',
  /** `insecure = true`: account login is TLS only. */
  'insecure_federation',
  /** Neither `enable-account-auth` nor `enable-user-auth` is true. */
  'account_auth_disabled',
  /** `root-certificates` names a file that does not exist. */
  'root_certificates_not_found',
  /** `.flwr/.gitignore` could not be read or created. */
  'gitignore_failed',
  /** The credentials file could not be written. */
  'credentials_write_failed',
  /** flwr 1.26+: FLWR_HOME/config.toml does not exist. */
  'flower_config_not_found',
  /** flwr 1.26+: config.toml cannot be read, is not valid TOML, or a connection key has the wrong type. */
  'invalid_flower_config',
  /** flwr 1.26+: no SUPERLINK given and `[superlink]` has no `default`. */
  'no_default_connection',
  /** flwr 1.26+: the named (or default) connection has no `[superlink.<name>]` table; `knownFederations` lists those that do. */
  'unknown_connection',
  /** flwr 1.26+: the connection has no `address`. */
  'connection_without_address',
  /** No credentials for the federation (nobody logged in), or the file is not Flower's shape. */
  'not_logged_in',
] as const;

export type FlwrConfigErrorCode = (typeof FLWR_CONFIG_ERROR_CODES)[number];

export interface FlwrConfigErrorOptions {
  cause?: unknown;
  /** For `unknown_federation` / `no_default_federation`: the federations that are declared. */
  knownFederations?: readonly string[];
}

export class FlwrConfigError extends Error {
  readonly code: FlwrConfigErrorCode;
  readonly knownFederations: readonly string[];

  constructor(code: FlwrConfigErrorCode, message: string, options: FlwrConfigErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlwrConfigError';
    this.code = code;
    this.knownFederations = options.knownFederations ?? [];
  }
}

export function isFlwrConfigError(value: unknown): value is FlwrConfigError {
  return value instanceof FlwrConfigError;
}
