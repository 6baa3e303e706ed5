// The process-wide cache of warm clients, on globalThis so that two copies of lazydb in one process
// share them. It is reached through functions only and keyed by a hash: `inspect(globalThis)` shows
// neither a URL nor a client.
import type { DriverConfig } from './drivers/contract.js'
import { hash128 } from './hash.js'
import type { WarmClient } from './warm-client.js'

interface WarmCache {
  get(key: string): WarmClient | undefined
  set(key: string, client: WarmClient): void
  forget(key: string, client: WarmClient): void
}

// Versioned with the WarmClient shape: copies of lazydb that agree on it share clients.
const KEY = Symbol.for('lazydb.warm-clients@4')
const g = globalThis as Record<symbol, unknown>
const cache = (g[KEY] as WarmCache | undefined) ?? createCache()
g[KEY] = cache

function createCache(): WarmCache {
  const clients = new Map<string, WarmClient>()
  return {
    get: (key) => clients.get(key),
    set: (key, client) => void clients.set(key, client),
    forget: (key, client) => {
      if (clients.get(key) === client) clients.delete(key)
    },
  }
}

/** The warm client for `key` that is still in use, or the one `create` makes (and caches). */
export function warmClientFor(key: string, create: () => WarmClient): WarmClient {
  const existing = cache.get(key)
  if (existing !== undefined && !existing.retired) return existing
  const created = create()
  cache.set(key, created)
  return created
}

export function forgetWarmClient(key: string, client: WarmClient): void {
  cache.forget(key, client)
}

const objectIds = new WeakMap<object, number>()
let nextObjectId = 1

/** A hash of driver, URL and options; functions and objects (a custom fetch, a WebSocket class) by identity. */
export function warmKey(config: DriverConfig): string {
  const parts = [config.driver, config.url]
  for (const name of Object.keys(config.options).sort()) parts.push(`${name}=${describe(config.options[name])}`)
  return hash128(parts.join('\n'))
}

function describe(value: unknown): string {
  if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
    let id = objectIds.get(value)
    if (id === undefined) objectIds.set(value, (id = nextObjectId++))
    return `#${id}`
  }
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'symbol') return value.toString()
  return JSON.stringify(value) ?? String(value)
}
