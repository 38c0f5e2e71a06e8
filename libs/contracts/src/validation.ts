import { z } from 'zod';
import { InvalidRequestError, type FieldIssue } from './errors';

/** `checks[2].object` for path ['checks', 2, 'object']; '' for the root. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let formatted = '';
  for (const segment of path) {
    if (typeof segment === 'number') formatted += `[${segment}]`;
    else formatted += formatted.length === 0 ? String(segment) : `.${String(segment)}`;
  }
  return formatted;
}

/** Flattens zod issues into field/message pairs (union branches included, once each). */
export function fieldIssuesOf(error: z.ZodError): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  const visit = (issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): void => {
    const path = [...prefix, ...issue.path];
    // A union failure carries each branch's issues; report the branches, not "Invalid input".
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      for (const branch of issue.errors) for (const inner of branch) visit(inner, path);
      return;
    }
    const field = formatIssuePath(path);
    const key = `${field}\u0000${issue.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    issues.push({ field, message: issue.message });
  };
  for (const issue of error.issues) visit(issue, []);
  return issues;
}

const MAX_ISSUES_IN_DESCRIPTION = 5;

/** A readable one-line summary naming each field, e.g. `run_id: Required; checks[0].object: ...`. */
export function describeFieldIssues(issues: readonly FieldIssue[]): string {
  const shown = issues.slice(0, MAX_ISSUES_IN_DESCRIPTION).map(({ field, message }) => (field ? `${field}: ${message}` : message));
  const hidden = issues.length - shown.length;
  return hidden > 0 ? `${shown.join('; ')}; and ${hidden} more` : shown.join('; ');
}

/**
 * Validates `input` against `schema` and returns the parsed (typed, stripped,
 * transformed) value, or throws `InvalidRequestError` (`invalid_request`, 400)
 * whose description names every offending field.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = fieldIssuesOf(result.error);
  throw new InvalidRequestError(describeFieldIssues(issues), issues);
}
