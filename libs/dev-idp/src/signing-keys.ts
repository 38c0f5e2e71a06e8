import { createHash, generateKeyPair, type JsonWebKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

/** A private RS256 signing key in JWK form, as stored in the JWKS file. */
export interface SigningJwk {
  readonly kty: 'RSA';
  readonly kid: string;
  readonly alg: 'RS256';
  readonly use: 'sig';
  readonly n: string;
  readonly e: string;
  readonly d: string;
  readonly p: string;
  readonly q: string;
  readonly dp: string;
  readonly dq: string;
  readonly qi: string;
}

/** Thrown when the JWKS file exists but cannot be used; never carries key material. */
export class SigningKeyFileError extends Error {
  override readonly name = 'SigningKeyFileError';
}

const privateRsaMembers = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const;

/** Generates a fresh RSA-2048 key; kid is its RFC 7638 thumbprint, so it is unique and stable. */
export async function generateSigningKey(): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const jwk: JsonWebKey = privateKey.export({ format: 'jwk' });
  const members = Object.fromEntries(privateRsaMembers.map((member) => [member, String(jwk[member])])) as Record<
    (typeof privateRsaMembers)[number],
    string
  >;
  return { kty: 'RSA', kid: rsaThumbprint(members.e, members.n), alg: 'RS256', use: 'sig', ...members };
}

function rsaThumbprint(exponent: string, modulus: string): string {
  // RFC 7638: required members only, lexicographic order, no whitespace.
  return createHash('sha256').update(JSON.stringify({ e: exponent, kty: 'RSA', n: modulus })).digest('base64url');
}

/**
 * Reads the signing keys from the JWKS file (first key = current signer), or generates
 * one key and writes the file when it does not exist yet. Without a path the keys live
 * in memory only (they change on every start).
 */
export async function loadOrCreateSigningKeys(jwksFilePath: string | undefined): Promise<SigningJwk[]> {
  if (jwksFilePath !== undefined) {
    const stored = await readSigningKeyFile(jwksFilePath);
    if (stored) return stored;
  }
  const keys = [await generateSigningKey()];
  if (jwksFilePath !== undefined) await writeSigningKeyFile(jwksFilePath, keys);
  return keys;
}

async function readSigningKeyFile(jwksFilePath: string): Promise<SigningJwk[] | undefined> {
  let text: string;
  try {
    text = await readFile(jwksFilePath, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SigningKeyFileError(`signing key file ${jwksFilePath} is not valid JSON`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new SigningKeyFileError(`signing key file ${jwksFilePath} has no "keys" array with at least one key`);
  }
  return keys.map((key: unknown, index) => {
    if (!isSigningJwk(key)) {
      throw new SigningKeyFileError(
        `signing key file ${jwksFilePath}: key #${index} is not a private RS256 RSA JWK with a kid`,
      );
    }
    return key;
  });
}

function isSigningJwk(value: unknown): value is SigningJwk {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    candidate['kty'] === 'RSA' &&
    candidate['alg'] === 'RS256' &&
    candidate['use'] === 'sig' &&
    typeof candidate['kid'] === 'string' &&
    candidate['kid'] !== '' &&
    privateRsaMembers.every((member) => typeof candidate[member] === 'string')
  );
}

/** Writes atomically (temp file + rename) with owner-only permissions: these are private keys. */
export async function writeSigningKeyFile(jwksFilePath: string, keys: readonly SigningJwk[]): Promise<void> {
  await mkdir(dirname(jwksFilePath), { recursive: true, mode: 0o700 });
  const temporaryPath = `${jwksFilePath}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporaryPath, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600 });
  await rename(temporaryPath, jwksFilePath);
}
