import { Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { lifetimeSettings, type FunctionEnv } from './env.js'

const registries = new Map<string, Registry>()

/**
 * The registry of a Neon-backed example function. With only `DATABASE_URL` (and
 * `DATABASE_URL_<NAME>` extras) set it is `Registry.fromEnv(env)`, as in production: `postgres://…`
 * runs over HTTP, `?transport=ws` over a WebSocket. `NEON_WS_PROXY` / `NEON_FETCH_ENDPOINT` point
 * the default database at a local Neon-compatible proxy (plain `ws://`, no pipelined startup);
 * `LAZYDB_SCOPE` and `LAZYDB_IDLE_TIMEOUT_MS` override the lifetime; `extra.webSocketConstructor`
 * is for Node runtimes without a global WebSocket (Node 20). Equal settings give back the same
 * registry, so calling this per request (Workers get `env` per request) costs a lookup.
 */
export function neonRegistry(env: FunctionEnv, extra: { webSocketConstructor?: unknown } = {}): Registry {
  const { scope, registry: options } = lifetimeSettings(env)
  const custom =
    env.NEON_WS_PROXY !== undefined ||
    env.NEON_FETCH_ENDPOINT !== undefined ||
    scope !== undefined ||
    extra.webSocketConstructor !== undefined
  if (!custom) return Registry.fromEnv(env as Record<string, unknown>, options)
  const key = JSON.stringify([
    env.DATABASE_URL,
    env.NEON_WS_PROXY,
    env.NEON_FETCH_ENDPOINT,
    scope,
    options.idleTimeoutMs,
  ])
  let registry = registries.get(key)
  if (registry === undefined) {
    if (env.DATABASE_URL === undefined)
      throw new Error('Set DATABASE_URL to a Postgres URL (postgres://…, ?transport=ws for WebSocket)')
    const driverOptions: Record<string, unknown> = { ...extra }
    if (scope !== undefined) driverOptions.scope = scope
    if (env.NEON_WS_PROXY !== undefined)
      Object.assign(driverOptions, { wsProxy: env.NEON_WS_PROXY, useSecureWebSocket: false, pipelineConnect: false })
    if (env.NEON_FETCH_ENDPOINT !== undefined) driverOptions.fetchEndpoint = env.NEON_FETCH_ENDPOINT
    // The URL picks the transport here; neon() takes it as an option, which types client().
    driverOptions.transport = /[?&]transport=ws(&|#|$)/.test(env.DATABASE_URL) ? 'ws' : 'http'
    registry = new Registry({ ...options, database: neon(env.DATABASE_URL, driverOptions) })
    registries.set(key, registry)
  }
  return registry
}
