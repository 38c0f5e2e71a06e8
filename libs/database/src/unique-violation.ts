/**
 * Whether a write failed on a unique index: the one test for it, whatever raised it. Prisma
 * Client answers `P2002`; a raw statement through Prisma's pg adapter carries PostgreSQL's
 * `23505` in `meta.driverAdapterError`; pg itself answers `23505` with the `constraint`.
 * With `index`, only a violation of that index counts (another one stays an error).
 */
export function isUniqueViolation(err: unknown, index?: string): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { code?: unknown; constraint?: unknown; meta?: { target?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; constraint?: { index?: unknown } } } } };
  const adapter = e.meta?.driverAdapterError?.cause;
  const unique = e.code === 'P2002' || e.code === '23505' || adapter?.originalCode === '23505';
  if (!unique || index === undefined) return unique;
  return adapter?.constraint?.index === index || e.constraint === index || e.meta?.target === index;
}
