export const SERVICE_NAME = Symbol('SERVICE_NAME');
/** The pino level the service logs at (PlatformModule's logLevel, else FEDGATE_LOG_LEVEL). */
export const LOG_LEVEL = Symbol('LOG_LEVEL');
