/**
 * @fedgate/login-client — the login service's device-flow API from the client side
 * (`fedgate login`): `LoginServiceClient` and the RFC 8628 polling loop
 * `waitForDeviceTokens`.
 */
export * from './errors';
export * from './login-service-client';
export * from './wait-for-device-tokens';
