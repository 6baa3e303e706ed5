import type { Row } from 'postgres'
import type { QueryResult } from '../../types.js'

// What postgres.js resolves a statement to, and the contract's result made from it.

/** A postgres.js Result: an array of rows with the command's count and columns. */
export type Results = Row[] & { count?: number | null; columns?: ReadonlyArray<{ name: string }> | null }
/** One Result, or one per statement of a multi-statement text (simple protocol). */
export type Native = Results | Results[]

/** A result, or the last of several (a multi-statement text over the simple protocol). */
export function toResult(native: unknown): QueryResult {
  const many = native as Results[] & { command?: unknown }
  const r = (
    typeof many.command !== 'string' && many.length > 0 && Array.isArray(many[many.length - 1])
      ? many[many.length - 1]
      : native
  ) as Results
  return {
    rows: r.slice() as Record<string, unknown>[],
    rowCount: r.count ?? r.length,
    columns: r.columns?.map((c) => c.name) ?? [],
  }
}
