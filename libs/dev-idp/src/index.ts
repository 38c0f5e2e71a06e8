export {
  createDevIdentityProvider,
  deviceCodeGrantType,
  type DevIdentityProvider,
  type DevIdentityProviderOptions,
  type RotateSigningKeysOptions,
  type SigningKeyRotation,
} from './dev-identity-provider';
export {
  approveDeviceLogin,
  DeviceLoginError,
  type ApproveDeviceLoginOptions,
  type DeviceLoginErrorCode,
  type DeviceLoginResult,
} from './approve-device-login';
export { approveKeycloakDeviceLogin } from './approve-keycloak-device-login';
export { defaultDevUserSeeds, parseDevUserSeeds, type DevUserSeed } from './dev-users';
export { SigningKeyFileError } from './signing-keys';
export { jsonLinesLogger, silentLogger, type DevIdpLogEntry, type DevIdpLogger } from './logger';
export { trustCertificateAuthorityForFetch } from './trust-ca-for-fetch';
export { createThrowawayTls, type ThrowawayTls } from './throwaway-tls';
export { devIdentityProviderOptionsFromEnv, DevIdpConfigError } from './env-config';
