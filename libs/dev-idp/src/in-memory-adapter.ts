import type { OidcAdapter, OidcAdapterPayload } from './oidc-provider-module';

interface StoredEntry {
  readonly payload: OidcAdapterPayload;
  /** epoch milliseconds; Infinity when the model has no expiry */
  readonly expiresAt: number;
}

// Models whose entries belong to a grant and die with it (revocation, refresh token reuse).
const grantBoundModels = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

/**
 * Storage shared by every oidc-provider instance of one dev IdP. The provider is rebuilt
 * when signing keys rotate; keeping the store outside it means sessions, device codes
 * and refresh tokens survive a rotation (oidc-provider's own memory adapter is bound to
 * one provider instance, or shared process-wide between unrelated IdPs).
 */
export class InMemoryOidcStore {
  private readonly entries = new Map<string, StoredEntry>();
  private readonly secondaryIndex = new Map<string, string>();
  private readonly grantMembers = new Map<string, Set<string>>();
  private lastSweepAt = Date.now();

  /** The `adapter` value for oidc-provider's configuration. */
  adapterFactory(): (modelName: string) => OidcAdapter {
    return (modelName) => new InMemoryOidcAdapter(modelName, this);
  }

  get(key: string): OidcAdapterPayload | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  set(key: string, modelName: string, payload: OidcAdapterPayload, expiresInSeconds: number | undefined): void {
    this.sweepExpiredOncePerMinute();
    this.delete(key);
    const expiresAt = typeof expiresInSeconds === 'number' ? Date.now() + expiresInSeconds * 1000 : Infinity;
    this.entries.set(key, { payload, expiresAt });
    if (modelName === 'Session' && typeof payload.uid === 'string') {
      this.secondaryIndex.set(`sessionUid:${payload.uid}`, key);
    }
    if (typeof payload.userCode === 'string') {
      this.secondaryIndex.set(`userCode:${payload.userCode}`, key);
    }
    if (grantBoundModels.has(modelName) && typeof payload.grantId === 'string') {
      const members = this.grantMembers.get(payload.grantId) ?? new Set<string>();
      members.add(key);
      this.grantMembers.set(payload.grantId, members);
    }
  }

  getBySecondaryKey(secondaryKey: string): OidcAdapterPayload | undefined {
    const key = this.secondaryIndex.get(secondaryKey);
    return key === undefined ? undefined : this.get(key);
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const { uid, userCode, grantId } = entry.payload;
    if (typeof uid === 'string' && this.secondaryIndex.get(`sessionUid:${uid}`) === key) {
      this.secondaryIndex.delete(`sessionUid:${uid}`);
    }
    if (typeof userCode === 'string' && this.secondaryIndex.get(`userCode:${userCode}`) === key) {
      this.secondaryIndex.delete(`userCode:${userCode}`);
    }
    if (typeof grantId === 'string') {
      const members = this.grantMembers.get(grantId);
      members?.delete(key);
      if (members?.size === 0) this.grantMembers.delete(grantId);
    }
  }

  // Expired entries are otherwise only dropped when read; a long-running dev IdP would grow.
  private sweepExpiredOncePerMinute(): void {
    const now = Date.now();
    if (now - this.lastSweepAt < 60_000) return;
    this.lastSweepAt = now;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.delete(key);
    }
  }

  deleteGrantMembers(grantId: string): void {
    const members = [...(this.grantMembers.get(grantId) ?? [])];
    for (const key of members) this.delete(key);
    this.grantMembers.delete(grantId);
  }
}

class InMemoryOidcAdapter implements OidcAdapter {
  constructor(
    private readonly modelName: string,
    private readonly store: InMemoryOidcStore,
  ) {}

  private key(id: string): string {
    return `${this.modelName}:${id}`;
  }

  async upsert(id: string, payload: OidcAdapterPayload, expiresInSeconds?: number): Promise<void> {
    this.store.set(this.key(id), this.modelName, payload, expiresInSeconds);
  }

  async find(id: string): Promise<OidcAdapterPayload | undefined> {
    return this.store.get(this.key(id));
  }

  async findByUserCode(userCode: string): Promise<OidcAdapterPayload | undefined> {
    return this.store.getBySecondaryKey(`userCode:${userCode}`);
  }

  async findByUid(uid: string): Promise<OidcAdapterPayload | undefined> {
    return this.store.getBySecondaryKey(`sessionUid:${uid}`);
  }

  async consume(id: string): Promise<void> {
    const payload = this.store.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.store.delete(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.store.deleteGrantMembers(grantId);
  }
}
