/** Stable error codes. Each one is listed in the README with its fix. */
export type LazyDbErrorCode =
  | 'CONFIG_INVALID'
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_DATABASE'
  | 'DRIVER_MISSING'
  | 'CONNECT_FAILED'
  | 'CONNECTION_LOST'
  | 'QUERY_FAILED'
  | 'TRANSACTION_UNSUPPORTED'
  | 'CLOSED'
  | 'TIMEOUT'
  | 'MIGRATION_CHANGED'
  | 'MIGRATION_FAILED'

export interface LazyDbErrorOptions {
  database?: string | undefined
  cause?: unknown
  sqlState?: string | undefined
  errno?: number | undefined
  constraint?: string | undefined
  detail?: string | undefined
  /** For a failed statement: whether the server may have run it (so it was not retried). */
  mayHaveRun?: boolean | undefined
}

/**
 * The one error class lazydb throws. `code` is stable; `database` names the alias; `cause` is the
 * driver's own error with every secret of the connection masked.
 *
 * @example
 * try { await registry.database.query('select 1') }
 * catch (err) { if (err instanceof LazyDbError && err.code === 'CONNECT_FAILED') retryLater() }
 */
export class LazyDbError extends Error {
  override readonly name = 'LazyDbError'
  readonly code: LazyDbErrorCode
  readonly database: string | undefined
  readonly sqlState: string | undefined
  readonly errno: number | undefined
  readonly constraint: string | undefined
  readonly detail: string | undefined
  readonly mayHaveRun: boolean | undefined

  constructor(code: LazyDbErrorCode, message: string, options: LazyDbErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.database = options.database
    this.sqlState = options.sqlState
    this.errno = options.errno
    this.constraint = options.constraint
    this.detail = options.detail
    this.mayHaveRun = options.mayHaveRun
  }
}

export function configError(alias: string | undefined, problem: string, fix: string): LazyDbError {
  const where = alias === undefined ? '' : `database "${alias}": `
  return new LazyDbError('CONFIG_INVALID', `${where}${problem}. ${fix}`, { database: alias })
}

export function argumentError(what: string, problem: string, fix: string, alias?: string): LazyDbError {
  return new LazyDbError('INVALID_ARGUMENT', `${what}: ${problem}. ${fix}`, { database: alias })
}

/** INVALID_ARGUMENT for a method called without its database (`const { query } = db`). */
export function detached(method: string, owner = 'database'): LazyDbError {
  return argumentError(
    method,
    `called without its ${owner} (the method was taken off the object: const { ${method} } = …)`,
    `Call it on the ${owner} (${owner === 'database' ? 'db' : owner}.${method}(…)), or bind it: .${method}.bind(…)`,
  )
}

/** Work refused or cut off because lazydb closed the client under it. */
export function closedError(alias: string, problem: string, fix: string): LazyDbError {
  return new LazyDbError('CLOSED', `database "${alias}": ${problem}. ${fix}`, { database: alias, mayHaveRun: false })
}

/** A user-supplied value quoted for a message: never throws, never long. */
export function quoted(value: unknown): string {
  let text: string
  try {
    text = typeof value === 'string' ? value : typeof value === 'symbol' ? value.toString() : `${value as string}`
  } catch {
    text = describeValue(value)
  }
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)
}

/** A non-null, non-array object: what every options argument must be. */
export function isOptionsObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** What a value is, for a message, without its content (it may be a secret). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string'
  return typeof value === 'object' ? 'an object' : `${typeof value}`
}
