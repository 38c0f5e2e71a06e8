/**
 * OpenFGA's rules for the pieces of a tuple, mirrored here so Fedgate refuses a
 * malformed id before it ever reaches the store (or an audit record).
 *
 * Upstream (openfga/openfga `pkg/tuple`, openfga/api protos):
 * - object  = `type:id`, regex `^[^:#\s]+:[^#:\s]+$`, at most 256 characters in all;
 * - user    = `type:id` (or a userset `type:id#relation`), at most 512 bytes;
 * - relation = `^[^:#@\s]+$`, 1..50 characters;
 * - an id of `*` is the typed wildcard (`type:*`), never a concrete object;
 * - newer servers also refuse control characters.
 * We are stricter where that is cheap: all Unicode whitespace (not only ASCII)
 * and every control character are refused.
 */

export const OPENFGA_MAX_OBJECT_CHARS = 256;
export const OPENFGA_MAX_USER_BYTES = 512;
export const OPENFGA_MAX_RELATION_CHARS = 50;

// `\s` with the u flag covers Unicode whitespace; \p{Cc} are control characters.
const FORBIDDEN_IN_ID = /[\s\p{Cc}#:]/u;
const FORBIDDEN_IN_TYPE = /[\s\p{Cc}#:@]/u;
const FORBIDDEN_IN_RELATION = /[\s\p{Cc}#:@]/u;

/** Length in Unicode code points, which is what OpenFGA's RE2 patterns count. */
export function codePointLength(value: string): number {
  return Array.from(value).length;
}

/** Why `id` cannot be the id part of an OpenFGA object, or null when it can. */
export function openfgaIdProblem(id: string, maxChars: number): string | null {
  if (id.length === 0) return 'must not be empty';
  if (codePointLength(id) > maxChars) return `must be at most ${maxChars} characters`;
  if (id === '*') return 'must not be the wildcard "*"';
  const forbidden = FORBIDDEN_IN_ID.exec(id);
  if (forbidden) return `must not contain ${describeCharacter(forbidden[0])}`;
  return null;
}

/** Why `name` cannot be an OpenFGA type name, or null when it can. */
export function openfgaTypeProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (codePointLength(name) > 254) return 'must be at most 254 characters';
  const forbidden = FORBIDDEN_IN_TYPE.exec(name);
  if (forbidden) return `must not contain ${describeCharacter(forbidden[0])}`;
  return null;
}

/** Why `name` cannot be an OpenFGA relation name, or null when it can. */
export function openfgaRelationProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (codePointLength(name) > OPENFGA_MAX_RELATION_CHARS) return `must be at most ${OPENFGA_MAX_RELATION_CHARS} characters`;
  const forbidden = FORBIDDEN_IN_RELATION.exec(name);
  if (forbidden) return `must not contain ${describeCharacter(forbidden[0])}`;
  return null;
}

function describeCharacter(character: string): string {
  if (/\s/u.test(character)) return 'whitespace';
  if (/\p{Cc}/u.test(character)) return 'control characters';
  return `'${character}'`;
}
