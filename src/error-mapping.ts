// Driver errors → LazyDbError: the code (what happened to the statement), the fields the database
// gave (SQLSTATE, errno, constraint, detail), and every secret of the database masked in the message
// and in the driver's error kept as `cause`.
import { ClientClosedError, type ErrorInfo } from './drivers/contract.js'
import { LazyDbError, type LazyDbErrorCode } from './errors.js'
import type { Secrets } from './secrets.js'
import type { DriverName } from './types.js'

const reported = new WeakSet<LazyDbError>()

/** What the mapping needs to know of the database an error came from. */
export interface ErrorSource {
  readonly alias: string
  readonly driverName: DriverName
  readonly secrets: Secrets
  classify(error: unknown): ErrorInfo
  /** Counts the error and hands it to `on.error`. */
  report(error: LazyDbError): void
}

/** Where in an operation the error happened: `in-transaction` is a statement of an open transaction. */
export type Stage = 'connect' | 'statement' | 'in-transaction' | 'begin' | 'close'

/**
 * The LazyDbError for a driver error. `closedUnder` says lazydb closed the client under the work
 * (a forced close): then the work reports CLOSED whatever the driver said, and may have run, unless
 * the driver says it never started (ClientClosedError: refused while it waited for a connection).
 */
export function toLazyDbError(
  source: ErrorSource,
  error: unknown,
  stage: Stage,
  closedUnder = false,
  attempts = 1,
): LazyDbError {
  if (error instanceof LazyDbError) {
    // A driver's own LazyDbError (DRIVER_MISSING, TRANSACTION_UNSUPPORTED) is counted once, like any other.
    if (!reported.has(error)) {
      reported.add(error)
      source.report(error)
    }
    return error
  }
  if (error instanceof ClientClosedError) {
    return wrap(source, 'CLOSED', error, {}, 'the client was closed before this work started; it did not run', false)
  }
  if (closedUnder) {
    const lead = 'the client was closed under this work (disconnect, or the invocation ended); it may have run'
    return wrap(source, 'CLOSED', error, {}, lead, true)
  }
  const info = safeClassify(source, error)
  if (stage === 'close') return wrap(source, 'CLOSED', error, info, 'closing the client failed')
  const where = info.address === undefined ? '' : ` at ${info.address}`
  if (stage === 'connect') {
    const tries = attempts === 1 ? '' : ` after ${attempts} attempts`
    return wrap(source, 'CONNECT_FAILED', error, info, `could not connect${where}${tries}`)
  }
  if (stage === 'in-transaction' && (info.notSent || info.lostMaybeRun)) {
    // The transaction's own connection broke: the server rolled the transaction back.
    const lead = "the transaction's connection broke, so the server rolled the transaction back"
    return wrap(source, 'CONNECTION_LOST', error, info, lead, info.lostMaybeRun === true)
  }
  if (info.auth) return wrap(source, 'CONNECT_FAILED', error, info, 'could not connect')
  if (info.notSent) {
    return wrap(
      source,
      'CONNECT_FAILED',
      error,
      info,
      `could not reach the server${where}; the statement did not run`,
      false,
    )
  }
  if (info.lostMaybeRun) {
    return wrap(
      source,
      'CONNECTION_LOST',
      error,
      info,
      'the connection broke while the statement ran; it may have run, so it was not retried',
      true,
    )
  }
  // A failed BEGIN ran none of the caller's statements; a statement refused before it started did not run.
  const mayHaveRun = stage !== 'begin' && info.notStarted !== true
  return wrap(source, 'QUERY_FAILED', error, info, undefined, mayHaveRun)
}

export function safeClassify(source: ErrorSource, error: unknown): ErrorInfo {
  try {
    return source.classify(error) ?? {}
  } catch {
    return {}
  }
}

function wrap(
  source: ErrorSource,
  code: LazyDbErrorCode,
  error: unknown,
  info: ErrorInfo,
  lead: string | undefined,
  mayHaveRun?: boolean,
): LazyDbError {
  const secrets = source.secrets
  secrets.maskError(error)
  const text = secrets.mask(info.message ?? String((error as Error | undefined)?.message ?? error))
  const message = `database "${source.alias}" (${source.driverName}): ${lead === undefined ? text : `${lead}: ${text}`}`
  const wrapped = new LazyDbError(code, message, {
    database: source.alias,
    cause: error,
    sqlState: info.sqlState,
    errno: info.errno,
    constraint: info.constraint,
    detail: info.detail === undefined ? undefined : secrets.mask(info.detail),
    mayHaveRun,
  })
  reported.add(wrapped)
  source.report(wrapped)
  return wrapped
}
