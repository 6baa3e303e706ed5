import { forbidsCrossRequestIo, type PlatformName } from './platform.js'
import type { DriverName, Scope } from './types.js'

/** Whether a driver and URL hold a socket (rather than speak HTTP or run in-process). */
export function holdsSocket(driver: DriverName, url: string): boolean {
  if (driver === 'neon-ws' || driver === 'pg' || driver === 'mysql2' || driver === 'postgres') return true
  // @libsql/client (node and web builds) speaks WebSocket for ws(s):// only: it sends libsql:// over
  // HTTP(S). Only @libsql/client/ws maps libsql:// to a WebSocket; give that one a wss:// URL.
  return driver === 'libsql' && /^wss?:/i.test(url)
}

/** DESIGN "Lifetimes": HTTP and embedded stay warm; sockets are per request where I/O can't cross requests. */
export function defaultScope(socket: boolean, platform: PlatformName): Scope {
  return socket && forbidsCrossRequestIo(platform) ? 'request' : 'warm'
}
