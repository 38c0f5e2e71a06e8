import { z } from 'zod';
import {
  OPENFGA_MAX_OBJECT_CHARS,
  OPENFGA_MAX_USER_BYTES,
  codePointLength,
  openfgaIdProblem,
  openfgaRelationProblem,
  openfgaTypeProblem,
} from '../openfga-ids';

/**
 * `POST /stores/{store_id}/check` — OpenFGA's own Check API shape, for
 * SuperLinks whose OpenFGA plugin points its `authz_url` at Fedgate. Inputs are
 * held to OpenFGA's generic rules (any type name), so an unexpected type gets
 * OpenFGA's answer (a deny or 400), not a crash.
 */

/** OpenFGA store ids are ULIDs. */
export const OpenFgaStoreIdSchema = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be an OpenFGA store id (ULID)');

export const OpenFgaCheckParamsSchema = z.object({ store_id: OpenFgaStoreIdSchema });

function typedIdProblem(value: string, allowUserset: boolean): string | null {
  const [objectPart, relationPart, ...rest] = value.split('#');
  if (rest.length > 0 || (!allowUserset && relationPart !== undefined)) return "has too many '#'";
  const separator = objectPart!.indexOf(':');
  if (separator < 0) return "must have the form '<type>:<id>'";
  const typeProblem = openfgaTypeProblem(objectPart!.slice(0, separator));
  if (typeProblem) return `type ${typeProblem}`;
  const id = objectPart!.slice(separator + 1);
  // A user may be the typed wildcard `type:*`; an object may not.
  if (!(allowUserset && id === '*' && relationPart === undefined)) {
    const idProblem = openfgaIdProblem(id, Number.MAX_SAFE_INTEGER);
    if (idProblem) return `id ${idProblem}`;
  }
  if (relationPart !== undefined) {
    const relationProblem = openfgaRelationProblem(relationPart);
    if (relationProblem) return `relation ${relationProblem}`;
  }
  return null;
}

export const OpenFgaObjectSchema = z
  .string()
  .refine((value) => codePointLength(value) <= OPENFGA_MAX_OBJECT_CHARS, `must be at most ${OPENFGA_MAX_OBJECT_CHARS} characters`)
  .superRefine((value, context) => {
    const problem = typedIdProblem(value, false);
    if (problem) context.addIssue({ code: 'custom', message: `object ${problem}` });
  });

export const OpenFgaUserSchema = z
  .string()
  .refine((value) => Buffer.byteLength(value, 'utf8') <= OPENFGA_MAX_USER_BYTES, `must be at most ${OPENFGA_MAX_USER_BYTES} bytes`)
  .superRefine((value, context) => {
    const problem = typedIdProblem(value, true);
    if (problem) context.addIssue({ code: 'custom', message: `user ${problem}` });
  });

export const OpenFgaRelationSchema = z.string().superRefine((value, context) => {
  const problem = openfgaRelationProblem(value);
  if (problem) context.addIssue({ code: 'custom', message: `relation ${problem}` });
});

export const OpenFgaTupleKeySchema = z.object({
  user: OpenFgaUserSchema,
  relation: OpenFgaRelationSchema,
  object: OpenFgaObjectSchema,
});
export type OpenFgaTupleKey = z.infer<typeof OpenFgaTupleKeySchema>;

export const OpenFgaCheckRequestSchema = z.object({
  tuple_key: OpenFgaTupleKeySchema,
  authorization_model_id: z.string().min(1).optional(),
  // Contextual tuples would let the caller assert relationships (e.g. "I own run 42"): refused.
  contextual_tuples: z
    .object({ tuple_keys: z.array(OpenFgaTupleKeySchema).max(0, 'contextual tuples are not accepted by Fedgate') })
    .optional(),
  context: z.record(z.string(), z.unknown()).optional(),
  trace: z.boolean().optional(),
  consistency: z.enum(['UNSPECIFIED', 'MINIMIZE_LATENCY', 'HIGHER_CONSISTENCY']).optional(),
});
export type OpenFgaCheckRequest = z.infer<typeof OpenFgaCheckRequestSchema>;

export const OpenFgaCheckResponseSchema = z.object({
  allowed: z.boolean(),
  resolution: z.string().optional(),
});
export type OpenFgaCheckResponse = z.infer<typeof OpenFgaCheckResponseSchema>;
