import { LazyDbError } from '../../errors.js'
import type { ErrorInfo } from '../contract.js'
import { classifyNetwork } from '../network-errors.js'
import { SQLSTATE, sqlStateInfo } from '../pg-common/errors.js'

// postgres.js errors: what they say about the statement. A server error is a PostgresError (SQLSTATE in
// `code`, `severity`, `constraint_name`, `detail`); a connection error has one of postgres.js's codes
// (CONNECTION_CLOSED, …) with `address` and `port`, or a socket's own (ECONNREFUSED, …).

interface PostgresJsError {
  code?: unknown
  severity?: unknown
  constraint_name?: unknown
  detail?: unknown
  address?: unknown
  port?: unknown
  message?: unknown
  cause?: unknown
}

/** `host:port` of a postgres.js connection error. */
function addressOf(e: PostgresJsError): string | undefined {
  if (typeof e.address !== 'string') return undefined
  return e.port === undefined ? e.address : `${e.address}:${String(e.port)}`
}

function serverError(e: PostgresJsError): ErrorInfo | undefined {
  if (typeof e.code !== 'string' || !SQLSTATE.test(e.code) || typeof e.severity !== 'string') return undefined
  return sqlStateInfo(e.code, { constraint: e.constraint_name, detail: e.detail }, false)
}

/**
 * What a postgres.js error says about the statement: SQLSTATE and fields, never sent (retry), maybe
 * run, auth, the address of a failed connect.
 */
export function classifyPostgresJs(error: unknown): ErrorInfo {
  if (typeof error !== 'object' || error === null || error instanceof LazyDbError) return {}
  const e = error as PostgresJsError
  const server = serverError(e)
  if (server !== undefined) return server
  const address = addressOf(e)
  const at = (info: ErrorInfo): ErrorInfo => (address === undefined ? info : { ...info, address })
  switch (e.code) {
    // A query after sql.end(): refused before anything was written.
    case 'CONNECTION_ENDED':
      return at({ notSent: true })
    case 'CONNECT_TIMEOUT':
      return at({ notSent: true, transient: true })
    // The connection closed under the statement (the server went, the socket broke): it may have run.
    // With a FATAL server error as its cause, the server had ended the session (pg_terminate_backend, a
    // shutdown) before the statement went out: postgres.js keeps such an error for the connection when
    // it arrives with nothing in flight, and fails statements sent or queued after it with this one. A
    // statement in flight when the FATAL came fails with the FATAL error itself instead.
    case 'CONNECTION_CLOSED': {
      const cause = e.cause as PostgresJsError | undefined
      const fatal = typeof cause === 'object' && cause !== null && cause.severity === 'FATAL'
      const info: ErrorInfo = fatal ? { notSent: true, transient: true } : { lostMaybeRun: true, transient: true }
      const sqlState = fatal ? serverError(cause)?.sqlState : undefined
      if (sqlState !== undefined) info.sqlState = sqlState
      return at(info)
    }
    // Destroyed by sql.end({ timeout }): what was in flight may have run.
    case 'CONNECTION_DESTROYED':
      return at({ lostMaybeRun: true })
    // Waited queue_timeout for a connection and was never sent.
    case 'QUEUE_TIMEOUT':
      return { notStarted: true }
  }
  return classifyNetwork(error) ?? {}
}

/** postgres.js's refusal of a statement on the pool that left its connection in a transaction (rolled back). */
export function isUnsafeTransaction(error: unknown): boolean {
  const e = error as PostgresJsError | null
  return e?.code === 'UNSAFE_TRANSACTION' && typeof e.message === 'string' && e.message.includes('Only use')
}
