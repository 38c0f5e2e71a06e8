export * from './identity-provider.client';
export * from './login-settings';
export * from './session.store';
export * from './start-device-login.use-case';
export * from './poll-device-login.use-case';
export * from './refresh-session.use-case';
export * from './logout.use-case';
export * from './expire-device-logins.use-case';
