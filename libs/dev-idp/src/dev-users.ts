import { createHash, timingSafeEqual } from 'node:crypto';

/** A user the dev IdP knows; the username is also the OIDC subject (`sub`). */
export interface DevUser {
  readonly username: string;
  readonly password: string;
  readonly name: string;
  readonly email: string;
}

/** Seed input: name and email default from the username when omitted. */
export interface DevUserSeed {
  readonly username: string;
  readonly password: string;
  readonly name?: string;
  readonly email?: string;
}

/** Development-only defaults; the local stack and tests may override the passwords. */
export const defaultDevUserSeeds: readonly DevUserSeed[] = [
  { username: 'alice', password: 'alice-password', name: 'Alice Example', email: 'alice@example.com' },
  { username: 'bob', password: 'bob-password', name: 'Bob Example', email: 'bob@example.com' },
];

export class DevUserDirectory {
  private readonly usersByName: ReadonlyMap<string, DevUser>;

  constructor(seeds: readonly DevUserSeed[]) {
    const users = new Map<string, DevUser>();
    for (const seed of seeds) {
      if (!/^[A-Za-z0-9._@-]{1,64}$/.test(seed.username)) {
        throw new TypeError(`dev IdP user name ${JSON.stringify(seed.username)} must match [A-Za-z0-9._@-]{1,64}`);
      }
      if (typeof seed.password !== 'string' || seed.password.length === 0) {
        throw new TypeError(`dev IdP user ${seed.username} needs a non-empty password`);
      }
      if (users.has(seed.username)) throw new TypeError(`dev IdP user ${seed.username} is defined twice`);
      users.set(seed.username, {
        username: seed.username,
        password: seed.password,
        name: seed.name ?? seed.username,
        email: seed.email ?? `${seed.username}@example.com`,
      });
    }
    this.usersByName = users;
  }

  find(username: string): DevUser | undefined {
    return this.usersByName.get(username);
  }

  usernames(): string[] {
    return [...this.usersByName.keys()];
  }

  /** The user when the password matches; compared in constant time over digests. */
  authenticate(username: string, password: string): DevUser | undefined {
    const user = this.usersByName.get(username);
    // Compare even for unknown users so timing does not reveal which names exist.
    const expected = digest(user?.password ?? '\u0000no-such-user');
    const matches = timingSafeEqual(expected, digest(password));
    return user && matches ? user : undefined;
  }

  /** OIDC claims of a user (the provider filters them by granted scope). */
  static claimsOf(user: DevUser): Record<string, unknown> {
    return {
      sub: user.username,
      preferred_username: user.username,
      name: user.name,
      email: user.email,
      email_verified: true,
    };
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Parses FEDGATE_IDP_USERS-style JSON: an array of {username, password, name?, email?}.
 * Error messages name the offending entry but never echo a password.
 */
export function parseDevUserSeeds(json: string): DevUserSeed[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new TypeError('dev IdP users must be a JSON array of {username, password, name?, email?}');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new TypeError('dev IdP users must be a non-empty JSON array of {username, password, name?, email?}');
  }
  return parsed.map((entry: unknown, index) => {
    const candidate = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const { username, password, name, email } = candidate;
    if (typeof username !== 'string' || typeof password !== 'string') {
      throw new TypeError(`dev IdP user #${index} needs string "username" and "password"`);
    }
    if ((name !== undefined && typeof name !== 'string') || (email !== undefined && typeof email !== 'string')) {
      throw new TypeError(`dev IdP user #${index} ("${username}"): "name" and "email" must be strings`);
    }
    return { username, password, ...(name === undefined ? {} : { name }), ...(email === undefined ? {} : { email }) };
  });
}
