import { DEFAULT_IDLE_TIMEOUT_MS } from './options.js'
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

/** Vercel Fluid keeps an instance alive (waitUntil) until its warm sockets close idle: soon (attachDatabasePool). */
export const VERCEL_IDLE_TIMEOUT_MS = 5_000

/** How long a warm socket stays open idle, unless the database or registry sets `idleTimeoutMs`. */
export function defaultIdleTimeoutMs(platform: PlatformName): number {
  return platform === 'vercel-node' ? VERCEL_IDLE_TIMEOUT_MS : DEFAULT_IDLE_TIMEOUT_MS
}
