import type { ErrorInfo } from '../contract.js'
import { classifyNetwork } from '../network-errors.js'

/**
 * The errno and SQLSTATE Vitess puts in its messages, read before `(CallerID: …): Sql: "…"` so SQL text
 * can't fake them.
 */
function mysqlCodes(message: string): Pick<ErrorInfo, 'errno' | 'sqlState'> {
  const head = message.split('(CallerID:')[0]!
  const codes = [...head.matchAll(/\(errno (\d+)\) \(sqlstate ([0-9A-Z]{5})\)/g)].at(-1)
  if (codes !== undefined) return { errno: Number(codes[1]), sqlState: codes[2]! }
  const errno = /\(errno (\d+)\)/.exec(head)?.[1]
  return errno === undefined ? {} : { errno: Number(errno) }
}

/** What a PlanetScale error (a Vitess-worded DatabaseError, a network failure) says about the statement. */
export function classifyPlanetscale(error: unknown): ErrorInfo {
  const network = classifyNetwork(error)
  if (network !== undefined) return network
  // DatabaseError (and its UnknownError) by shape, so a second copy of the driver package still counts.
  const e = error as { status?: unknown; body?: unknown; message?: unknown } | null
  if (typeof e?.status !== 'number' || typeof e.body !== 'object' || typeof e.message !== 'string') return {}
  const info: ErrorInfo = mysqlCodes(e.message)
  if (e.status === 401 || info.errno === 1045) info.auth = true
  // Too many connections: refused before the statement ran.
  // 1226: a user's max_user_connections (a per-user cap) says the same, for this user only.
  if (info.errno === 1040 || info.errno === 1226) Object.assign(info, { transient: true, notSent: true })
  // The server's MySQL connection went away mid-statement (or with the transaction): it may have run.
  if (info.errno === 2006 || info.errno === 2013) info.lostMaybeRun = true
  if (info.errno === 1062) {
    const key = /for key '([^']+)'/.exec(e.message)?.[1]
    if (key !== undefined) info.constraint = key
  }
  return info
}
