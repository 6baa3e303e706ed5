import { LazyDbError } from '../../errors.js'
import { ClientClosedError, type ErrorInfo } from '../contract.js'
import { classifyNetwork } from '../network-errors.js'
import { DESTROYED } from './connection.js'

// mysql2 errors: what they say about the statement. A server error carries `errno`, `sqlState` and
// `code` (ER_DUP_ENTRY, …); a connection failure carries a network code (ECONNREFUSED, …) or one of
// mysql2's own (PROTOCOL_CONNECTION_LOST, …).

/** Errors raised while a connection was being opened (no statement of ours had been written). */
const atConnect = new WeakSet<object>()

/** Marks an error from opening a pooled connection: nothing of the statement reached the server. */
export function connectFailure(error: unknown): unknown {
  if (typeof error === 'object' && error !== null) atConnect.add(error)
  return error
}

/** ER_ACCESS_DENIED_ERROR. */
const AUTH = new Set([1045])
/**
 * Refused at connect, before any statement: ER_CON_COUNT_ERROR (1040, too many connections),
 * ER_TOO_MANY_USER_CONNECTIONS (1203), ER_USER_LIMIT_REACHED (1226, max_user_connections: what
 * MariaDB sends).
 */
const REFUSED_AT_CONNECT = new Set([1040, 1203, 1226])
/** The server dropped the connection under a statement: ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED (MariaDB). */
const KILLED = new Set([1053, 1927])

/** mysql2's message when a command is given to a connection it already knows is closed: nothing is written. */
const CLOSED_STATE = /connection is in closed state|Can't write in closed state/

/**
 * What a mysql2 error says about the statement: errno and SQLSTATE, never sent (retry), maybe run,
 * transient (worth retrying a connect), bad credentials.
 */
export function classifyMysql2(error: unknown): ErrorInfo {
  if (typeof error !== 'object' || error === null) return {}
  if (error instanceof LazyDbError || error instanceof ClientClosedError) return {}
  const e = error as { errno?: unknown; sqlState?: unknown; code?: unknown; message?: unknown }
  const connecting = atConnect.has(error)
  if (typeof e.sqlState === 'string' && typeof e.errno === 'number') {
    const info: ErrorInfo = { errno: e.errno, sqlState: e.sqlState }
    if (AUTH.has(e.errno)) info.auth = true
    if (REFUSED_AT_CONNECT.has(e.errno)) Object.assign(info, { transient: true, notSent: true })
    else if (KILLED.has(e.errno)) Object.assign(info, connecting ? { notSent: true } : { lostMaybeRun: true })
    if (e.errno === 1062 && typeof e.message === 'string') {
      const key = /for key '([^']+)'/.exec(e.message)?.[1]
      if (key !== undefined) info.constraint = key
    }
    return info
  }
  const network = classifyNetwork(error)
  if (connecting) {
    // A reset or timeout while connecting still sent nothing of the statement.
    const info: ErrorInfo = { notSent: true, transient: true }
    if (network?.address !== undefined) info.address = network.address
    return info
  }
  if (network !== undefined) return network
  const message = typeof e.message === 'string' ? e.message : ''
  if (CLOSED_STATE.test(message)) return { notSent: true }
  // A pool ended by its user (client().end()): the statement was refused before any connection.
  if (message === 'Pool is closed.') return { notSent: true }
  if (e.code === 'PROTOCOL_CONNECTION_LOST' || e.code === 'PROTOCOL_SEQUENCE_TIMEOUT' || e.code === DESTROYED) {
    return { lostMaybeRun: true }
  }
  return {}
}

/** Whether a connection must be thrown away after this error rather than given back to the pool. */
export function connectionBroken(error: unknown): boolean {
  const info = classifyMysql2(error)
  return info.notSent === true || info.lostMaybeRun === true || (error as { fatal?: unknown })?.fatal === true
}
