import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import canonicalize from 'canonicalize';
import { transformer } from '@openfga/syntax-transformer';

/** The model's DSL file, kept in the repository beside its OpenFGA model tests (fedgate.fga.yaml). */
export const MODEL_FILE = 'libs/authz/model/fedgate.fga';

/**
 * The folder of the model files, from this library's source (libs/authz/src) or compiled
 * (dist/libs/authz/src) location alike.
 */
export function modelDirectory(from: string = __dirname): string {
  const candidates = [path.join(from, '..', 'model'), path.join(from, '..', '..', '..', '..', path.dirname(MODEL_FILE))];
  const found = candidates.find((dir) => existsSync(path.join(dir, path.basename(MODEL_FILE))));
  if (!found) throw new Error(`${MODEL_FILE} not found from ${from}`);
  return found;
}

export function readModelDsl(file: string = path.join(modelDirectory(), path.basename(MODEL_FILE))): string {
  return readFileSync(file, 'utf8');
}

/** The DSL as OpenFGA's WriteAuthorizationModel body. */
export function modelToJson(dsl: string): { schema_version: string; type_definitions: unknown[]; conditions?: Record<string, unknown> } {
  return transformer.transformDSLToJSONObject(dsl) as unknown as { schema_version: string; type_definitions: unknown[] };
}

/**
 * Whether a stored model says the same as ours. Both sides go through the DSL printer, which
 * drops what OpenFGA adds when it stores a model (empty fields), then back to JSON compared
 * with sorted keys: OpenFGA answers relations (a protobuf map) sorted by name, not in the
 * order of our file, and order does not change what a model means.
 */
export function sameModel(stored: { schema_version: string; type_definitions: unknown[]; conditions?: unknown }, ours: object): boolean {
  const normal = (model: object) => canonicalize(transformer.transformDSLToJSONObject(transformer.transformJSONStringToDSL(JSON.stringify(model))));
  try {
    return normal({ schema_version: stored.schema_version, type_definitions: stored.type_definitions, conditions: stored.conditions }) === normal(ours);
  } catch {
    return false;
  }
}

/** Relations per type as the model defines them: checks are validated against this. */
export function relationsByType(model: { type_definitions: unknown[] }): Map<string, Set<string>> {
  const types = new Map<string, Set<string>>();
  for (const definition of model.type_definitions as Array<{ type: string; relations?: Record<string, unknown> }>) {
    types.set(definition.type, new Set(Object.keys(definition.relations ?? {})));
  }
  return types;
}
