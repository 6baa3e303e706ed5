import type { RegistryOptions, Scope } from '@lazydb/core'

/**
 * The environment the example functions read. `DATABASE_URL` is required; the rest are optional
 * knobs for trying the lifetimes out (and for the local test gateways):
 * - `LAZYDB_SCOPE`: `warm` or `request`, overriding the lifetime the platform picks;
 * - `LAZYDB_IDLE_TIMEOUT_MS`: close a warm socket connection idle this long;
 * - `NEON_WS_PROXY` / `NEON_FETCH_ENDPOINT`: a Neon WebSocket proxy (`host:port/path`) or SQL-over-HTTP
 *   endpoint other than Neon's own, e.g. a local one.
 */
export interface FunctionEnv {
  DATABASE_URL?: string
  LAZYDB_SCOPE?: string
  LAZYDB_IDLE_TIMEOUT_MS?: string
  NEON_WS_PROXY?: string
  NEON_FETCH_ENDPOINT?: string
}

/** The knobs above as lazydb options: for the database (`scope`) and the registry (`idleTimeoutMs`). */
export function lifetimeSettings(env: FunctionEnv): {
  scope?: Scope
  registry: Pick<RegistryOptions, 'idleTimeoutMs'>
} {
  const scope = env.LAZYDB_SCOPE === 'warm' || env.LAZYDB_SCOPE === 'request' ? env.LAZYDB_SCOPE : undefined
  const idle =
    env.LAZYDB_IDLE_TIMEOUT_MS === undefined || env.LAZYDB_IDLE_TIMEOUT_MS === ''
      ? undefined
      : Number(env.LAZYDB_IDLE_TIMEOUT_MS)
  return { scope, registry: idle === undefined ? {} : { idleTimeoutMs: idle } }
}

/** Requests to a function mounted under `base` (e.g. `/api`) reach the notes app without it. */
export function unmount(request: Request, base: string): Request {
  const url = new URL(request.url)
  if (!url.pathname.startsWith(`${base}/`)) return request
  url.pathname = url.pathname.slice(base.length)
  return new Request(url, request)
}
