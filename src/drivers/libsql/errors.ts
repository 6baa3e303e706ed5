import type { ErrorInfo } from '../contract.js'
import { classifyNetwork, classifyNetworkCode } from '../network-errors.js'

// libSQL errors, embedded or remote: what they say about the statement.

/**
 * The WebSocket client's errors (HRANA_WEBSOCKET_ERROR) keep only the socket's message: a refused
 * or failed connect ("connect ECONNREFUSED …"), a socket closed under the statement ("WebSocket was
 * closed with code 1006"), or, with a ClosedError as cause, a statement the client refused unsent
 * because the socket had already closed.
 */
function classifyWebSocket(error: unknown): ErrorInfo | undefined {
  const e = error as { code?: unknown; message?: unknown; cause?: { name?: unknown } }
  if (e?.code !== 'HRANA_WEBSOCKET_ERROR') return undefined
  if (e.cause?.name === 'ClosedError') return { notSent: true }
  const message = String(e.message)
  if (message.includes('WebSocket was closed with code')) return { lostMaybeRun: true, transient: true }
  const code = /\b(E[A-Z]+)\b/.exec(message)?.[1]
  return code === undefined ? undefined : classifyNetworkCode(code)
}

// The database was locked, or the client's connections were all held: the statement never started.
const NOT_STARTED = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'TRANSACTION_ACTIVE'])

export function classifyLibsql(error: unknown): ErrorInfo {
  const network = classifyNetwork(error) ?? classifyWebSocket(error)
  if (network !== undefined) return network
  const e = error as { code?: unknown; rawCode?: unknown; message?: unknown }
  const info: ErrorInfo = {}
  if (typeof e?.rawCode === 'number') info.errno = e.rawCode
  const code = typeof e?.code === 'string' ? e.code : ''
  const message = typeof e?.message === 'string' ? e.message : ''
  if (code === 'SERVER_ERROR' && /HTTP status 401\b/.test(message)) info.auth = true
  if (code === 'CLIENT_CLOSED') info.notSent = true
  if (NOT_STARTED.has(code) || NOT_STARTED.has(code.split('_').slice(0, 2).join('_'))) info.notStarted = true
  // A batch error is made from a statement error's message, which already starts with the code.
  const repeated = /^([A-Z_]+): \1: /.exec(message)
  if (repeated !== null) info.message = message.slice(repeated[1]!.length + 2)
  return info
}
