import type { DriverName, Scope } from './types.js'
import { forbidsCrossRequestIo, type PlatformName } from './platform.js'

/** Whether a driver and URL hold a socket (rather than speak HTTP or run in-process). */
export function holdsSocket(driver: DriverName, url: string): boolean {
  if (driver === 'neon-ws') return true
  // @libsql/client speaks WebSocket for libsql:// and ws(s)://, HTTP for http(s)://, in-process for file:.
  return driver === 'libsql' && /^(libsql|wss?):/i.test(url)
}

/** DESIGN "Lifetimes": HTTP and embedded stay warm; sockets are per request where I/O can't cross requests. */
export function defaultScope(socket: boolean, platform: PlatformName): Scope {
  return socket && forbidsCrossRequestIo(platform) ? 'request' : 'warm'
}
