import { argumentError } from '../../errors.js'
import type { Params, QueryResult, TransactionOptions } from '../../types.js'
import { ISOLATION_LEVELS } from '../transaction-sql.js'

// What both Neon transports (neon-http, neon-ws) say to Postgres and take from it: the URL,
// parameters, results, BEGIN, and a schema's search_path. No I/O.

/** The URL without lazydb's own `transport` parameter, which the driver must not see. */
export function driverUrl(url: string): string {
  const query = url.indexOf('?')
  if (query < 0) return url
  const hash = url.indexOf('#', query)
  const end = hash < 0 ? url.length : hash
  const kept = url
    .slice(query + 1, end)
    .split('&')
    .filter((pair) => pair !== '' && pair.split('=')[0]!.toLowerCase() !== 'transport')
  return url.slice(0, query) + (kept.length > 0 ? `?${kept.join('&')}` : '') + url.slice(end)
}

/** Postgres takes positional parameters only. */
export function positional(params: Params | undefined): unknown[] {
  if (params === undefined) return []
  if (Array.isArray(params)) return params as unknown[]
  throw argumentError(
    'query',
    'Postgres takes positional parameters ($1, $2, …), not named ones',
    'Pass an array: query("select … where id = $1", [id])',
  )
}

/** A result as both transports give it (HTTP `fullResults`, pg over WebSocket). */
export interface ResultLike {
  rows: unknown[]
  rowCount: number | null
  fields: ReadonlyArray<{ name: string }>
}

/** A result; several (a multi-statement text over the simple protocol) give the last one's. */
export function toResult(result: ResultLike | readonly ResultLike[]): QueryResult {
  const r = Array.isArray(result) ? (result[result.length - 1] as ResultLike) : (result as ResultLike)
  return {
    rows: r.rows as Record<string, unknown>[],
    rowCount: r.rowCount ?? r.rows.length,
    columns: r.fields.map((f) => f.name),
  }
}

export function beginStatement(options: TransactionOptions | undefined): string {
  let sql = 'BEGIN'
  const level = options?.isolationLevel === undefined ? undefined : ISOLATION_LEVELS[options.isolationLevel]
  if (level !== undefined) sql += ` ISOLATION LEVEL ${level}`
  if (options?.readOnly !== undefined) sql += options.readOnly ? ' READ ONLY' : ' READ WRITE'
  if (options?.deferrable !== undefined) sql += options.deferrable ? ' DEFERRABLE' : ' NOT DEFERRABLE'
  return sql
}

/**
 * `search_path` for one transaction only (`is_local = true`, the effect of `SET LOCAL`): it ends
 * with the statement's own transaction, so nothing is left on a pooled server connection. Only
 * the schema is searched (plus `pg_catalog`, always): a table missing there fails rather than
 * silently falling back to `public`.
 */
export const SET_SEARCH_PATH = "select set_config('search_path', $1, true)"

/** The schema as a `search_path` entry: a quoted identifier, so its case is kept. */
export function searchPathValue(schema: string): string {
  return `"${schema.replace(/"/g, '""')}"`
}

/** The same, as SQL text for the simple protocol (no parameters there): a string literal, quotes doubled. */
export function searchPathSql(schema: string): string {
  return `SELECT set_config('search_path', '${searchPathValue(schema).replace(/'/g, "''")}', true)`
}
