import type { NeonQueryFunction, Pool } from '@neondatabase/serverless'
import { Database } from '../../database.js'
import { configError, describeValue, isOptionsObject } from '../../errors.js'
import type { Scope } from '../../types.js'
import { registerDriver } from '../driver-table.js'
import { neonHttpDriver } from './http.js'
import { neonWsDriver } from './pool.js'

/**
 * Options for `neon()`, beside lazydb's own (`transport` or `driver`, `scope`, `idleTimeoutMs`).
 *
 * Where each setting lives in `@neondatabase/serverless`:
 * - Per database: `authToken`, `fetchOptions` (HTTP query function); `wsProxy`,
 *   `useSecureWebSocket`, `pipelineConnect`, `pipelineTLS`, `forceDisablePgSSL`,
 *   `coalesceWrites`, `webSocketConstructor` (set on each WebSocket client, never globally);
 *   `max`, `idleTimeoutMillis`, `connectionTimeoutMillis` (the neon-ws Pool).
 * - Global in the driver: `fetchEndpoint` and `fetchFunction` exist only on the global
 *   `neonConfig`. lazydb puts a database's values in place for each of its own HTTP queries (and
 *   keeps another database's out of them), so databases with different endpoints coexist. It also
 *   installs them as the process-wide values when none is set yet: that is what code using the
 *   raw function from `client()` (an ORM) sees. Set `neonConfig` yourself to choose otherwise.
 * - `neonConfig.poolQueryViaFetch` (global) never applies to lazydb's Pool.
 *
 * Without a global `WebSocket` (Node 20), the optional `ws` package is loaded when a socket is
 * first needed; pass `webSocketConstructor` to choose one (e.g. in a bundle without `ws`).
 */
export interface NeonOptions {
  /** `http` (default: `neon-http`, one request per query) or `ws` (`neon-ws`, a Pool over WebSocket). */
  transport?: 'http' | 'ws'
  /** The same choice by driver name: `neon-http` or `neon-ws`. */
  driver?: 'neon-http' | 'neon-ws'
  scope?: Scope
  idleTimeoutMs?: number
  /** HTTP: a JWT sent as the Bearer token (string, or a function returning one). */
  authToken?: string | (() => string | Promise<string>)
  /** HTTP: merged into every fetch() call's options. */
  fetchOptions?: Record<string, unknown>
  /** HTTP (global in the driver): the SQL-over-HTTP endpoint, or `(host, port, opts) => url`. */
  fetchEndpoint?: string | ((host: string, port: number | string, options?: { jwtAuth?: boolean }) => string)
  /** HTTP (global in the driver): a fetch-compatible function. */
  fetchFunction?: (input: string, init?: unknown) => Promise<unknown>
  /** WebSocket: the proxy, `host:port/path` without a scheme, or `(host, port) => …`. */
  wsProxy?: string | ((host: string, port: number | string) => string)
  /** WebSocket: `wss:` (default true) or `ws:`. */
  useSecureWebSocket?: boolean
  /** WebSocket: `'password'` (default) pipelines startup and cleartext password; `false` for trust or SCRAM auth. */
  pipelineConnect?: 'password' | false
  pipelineTLS?: boolean
  forceDisablePgSSL?: boolean
  coalesceWrites?: boolean
  /** WebSocket: the constructor to use (default: the global WebSocket, else the `ws` package). */
  webSocketConstructor?: unknown
  /** neon-ws Pool: most connections (default 10). */
  max?: number
  /** neon-ws Pool: close a pooled connection idle this long (default 10 000 ms). */
  idleTimeoutMillis?: number
  /** neon-ws Pool: give up connecting after this long (default: no limit). */
  connectionTimeoutMillis?: number
  [option: string]: unknown
}

/** `?transport=ws` in a Postgres URL selects the WebSocket Pool. */
function transportOf(url: string): string | undefined {
  return /[?&]transport=([^&#]*)/i.exec(url)?.[1]?.toLowerCase()
}

/** What `client()` hands out for Neon over HTTP: the driver's `neon()` query function, with full results. */
export type NeonHttpClient = NeonQueryFunction<false, true>

type WsChoice = { transport: 'ws'; driver?: 'neon-ws' } | { transport?: 'ws'; driver: 'neon-ws' }
type HttpChoice = { transport?: 'http'; driver?: 'neon-http' }

/**
 * A Neon Postgres database for a Registry: over HTTP (`neon-http`, one request per query, warm
 * everywhere; `client()` is the `neon()` query function) or over WebSocket (`{ transport: 'ws' }`:
 * `neon-ws`, a `Pool`, which `client()` hands out). The transport is chosen by the option, so that
 * `client()` is typed as what it is; a URL with `?transport=ws` needs `{ transport: 'ws' }` here too
 * (a URL-only config, `new Registry({ database: 'postgres://…?transport=ws' })`, takes it from the URL).
 * Importing this subpath also registers both drivers for `postgres://` URLs.
 * @example
 * import { neon } from '@lazydb/core/neon'
 * export const registry = new Registry({ database: neon(env.DATABASE_URL) })
 * const pooled = neon(env.DATABASE_URL, { transport: 'ws', max: 5 })
 * const db = drizzle(await pooled.client()) // drizzle-orm/neon-serverless, typed as the Pool
 */
export function neon(url: string, options: NeonOptions & WsChoice): Database<Pool>
export function neon(url: string, options?: NeonOptions & HttpChoice): Database<NeonHttpClient>
export function neon(url: string, options: NeonOptions): Database<NeonHttpClient | Pool>
export function neon(url: string, options?: NeonOptions): Database<NeonHttpClient | Pool> {
  if (options !== undefined && !isOptionsObject(options)) {
    throw configError(
      undefined,
      `neon() options must be an object (got ${describeValue(options)})`,
      "Pass neon(url, { transport: 'ws' }) or leave the options out",
    )
  }
  const { transport, ...rest } = options ?? {}
  const driver = pickDriver(url, transport, rest.driver)
  return new Database<NeonHttpClient | Pool>({ ...rest, url, driver })
}

function pickDriver(url: string, transport: unknown, driver: unknown): 'neon-http' | 'neon-ws' {
  if (transport !== undefined && transport !== 'http' && transport !== 'ws') {
    throw configError(undefined, 'neon(): transport must be "http" or "ws"', "Pass { transport: 'ws' } or leave it out")
  }
  const byOption = transport === 'ws' ? 'neon-ws' : transport === 'http' ? 'neon-http' : undefined
  if (byOption !== undefined && driver !== undefined && driver !== byOption) {
    throw configError(
      undefined,
      `neon(): transport "${transport}" and driver "${String(driver)}" disagree`,
      'Pass one of them',
    )
  }
  const chosen = (byOption ?? driver ?? 'neon-http') as 'neon-http' | 'neon-ws'
  const inUrl = typeof url === 'string' ? transportOf(url) : undefined
  if (inUrl === 'ws' && chosen !== 'neon-ws') {
    throw configError(
      undefined,
      'neon(): the URL asks for ?transport=ws, but the options do not',
      "Pass neon(url, { transport: 'ws' }), so that client() is typed as the Pool it is",
    )
  }
  return chosen
}

export { classifyPostgres as classifyNeon, NeonWebSocketError } from '../pg-common/errors.js'
export { neonHttpDriver } from './http.js'
export { neonWsDriver } from './pool.js'

registerDriver(neonHttpDriver)
registerDriver(neonWsDriver)
