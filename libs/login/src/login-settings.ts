/** How long device logins live and how fast callers may poll (RFC 8628). */
export interface DeviceFlowPolicy {
  /** Used when the IdP names no interval (RFC 8628 §3.2 default). */
  defaultIntervalSeconds: number;
}

export const DEFAULT_DEVICE_FLOW_POLICY: DeviceFlowPolicy = { defaultIntervalSeconds: 5 };

/** Who asked: the authenticated REST client and the caller's address, for the audit log. */
export interface RequestOrigin {
  client_id: string;
  source_ip?: string;
}

export const LOGIN_EVENT_SOURCE = '/fedgate/login-service';
