import { LazyDbError } from '../../errors.js'
import type { ErrorInfo } from '../contract.js'
import { classifyNetwork } from '../network-errors.js'

// Postgres errors from a pg-style client (node-postgres, Neon over HTTP or WebSocket): what they say about
// the statement, and how they are wrapped.

/** Errors raised before any statement was written (opening a socket, the startup exchange). */
const beforeAnyStatement = new WeakSet<object>()

/** A rejected WebSocket connect hands over its ErrorEvent, which is no Error: this gives it a message and a stack. */
export class NeonWebSocketError extends Error {
  override readonly name = 'NeonWebSocketError'
  constructor(event: { message?: unknown; error?: unknown }) {
    const detail = typeof event.message === 'string' && event.message !== '' ? event.message : 'the connection failed'
    super(`WebSocket error: ${detail}`, event.error instanceof Error ? { cause: event.error } : undefined)
  }
}

export function asError(error: unknown): unknown {
  if (error instanceof Error || typeof error !== 'object' || error === null) return error
  const event = error as { type?: unknown; message?: unknown }
  return event.type === 'error' || typeof event.message === 'string' ? new NeonWebSocketError(event) : error
}

/** Marks an error from opening a connection: no statement of ours reached the server. */
export function connectFailure(error: unknown): unknown {
  const e = asError(error)
  if (typeof e === 'object' && e !== null) beforeAnyStatement.add(e)
  return e
}

export const SQLSTATE = /^[0-9A-Z]{5}$/
const AUTH = new Set(['28P01', '28000'])
// too_many_connections, admin/crash shutdown, cannot_connect_now, connection exceptions (08…).
const TRANSIENT = new Set(['53300', '57P01', '57P02', '57P03'])
// Refusals sent at connection start only, before the server reads any statement.
const AT_STARTUP = new Set(['53300', '57P03'])

/**
 * What a Postgres server error's SQLSTATE says, whichever driver carried it (pg, Neon, postgres.js):
 * bad credentials; transient (too many connections, shutdown, a connection exception), and then either
 * never sent (refused at startup, or raised while connecting) or cut off while the statement may have run.
 */
export function sqlStateInfo(
  code: string,
  fields: { constraint?: unknown; detail?: unknown },
  atConnect: boolean,
): ErrorInfo {
  const info: ErrorInfo = { sqlState: code }
  if (typeof fields.constraint === 'string') info.constraint = fields.constraint
  if (typeof fields.detail === 'string') info.detail = fields.detail
  if (AUTH.has(code)) info.auth = true
  if (TRANSIENT.has(code) || code.startsWith('08')) {
    info.transient = true
    if (atConnect || AT_STARTUP.has(code)) info.notSent = true
    // Terminated (pg_terminate_backend, a restart) while a statement was out: it may have run.
    else info.lostMaybeRun = true
  }
  return info
}

/**
 * What a Postgres error (pg's `DatabaseError`, Neon's HTTP `NeonDbError`, a socket or WebSocket
 * failure) says about the statement: SQLSTATE and fields, never sent (retry), maybe run, auth.
 */
export function classifyPostgres(error: unknown): ErrorInfo {
  if (typeof error !== 'object' || error === null || error instanceof LazyDbError) return {}
  const e = error as Record<string, unknown>
  const atConnect = beforeAnyStatement.has(error)
  const code =
    typeof e.code === 'string' && SQLSTATE.test(e.code) && classifyNetwork(error) === undefined ? e.code : undefined
  if (code !== undefined) return sqlStateInfo(code, e, atConnect)
  if (atConnect) return { notSent: true, transient: true }
  const network = classifyNetwork(error) ?? classifyNetwork(e.sourceError)
  if (network !== undefined) return network
  const message = typeof e.message === 'string' ? e.message : ''
  // The HTTP driver's wrapper for a fetch that failed without a socket error (a bad endpoint URL, DNS):
  // no request went out.
  if (message.startsWith('Error connecting to database')) return { notSent: true }
  // pg refuses a query on a client whose connection is already gone, before writing anything.
  if (/is not queryable/.test(message)) return { notSent: true }
  if (/Connection terminated|^WebSocket error/.test(message)) return { lostMaybeRun: true }
  if (/HTTP status 40[13]\b/.test(message)) return { auth: true }
  return {}
}

/** Whether a client must be thrown away after this error rather than reused. */
export function connectionBroken(error: unknown): boolean {
  const info = classifyPostgres(error)
  return info.notSent === true || info.lostMaybeRun === true || (error as { severity?: unknown })?.severity === 'FATAL'
}
