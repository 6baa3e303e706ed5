import type { ResolvedConfig, DriverClient } from './drivers/driver.js'

/** One warm driver client, shared by every Database (and every copy of lazydb) with the same key. */
export interface WarmEntry {
  client: DriverClient | undefined
  pending: Promise<DriverClient> | undefined
  lastUsed: number
  /** Statements and transactions running on the client now: never idle-closed or retired as stale under them. */
  busy: number
  timer: ReturnType<typeof setTimeout> | undefined
  idle: { promise: Promise<void>; resolve: () => void } | undefined
  closed: boolean
  /** Removes the entry from the process-wide cache so the next use creates a new one. */
  retire(): void
}

// Versioned with the DriverClient interface: copies of lazydb that agree on it share clients.
const KEY = Symbol.for('lazydb.warm-clients@3')
const g = globalThis as Record<symbol, unknown>
const cache = (g[KEY] as Map<string, WarmEntry> | undefined) ?? new Map<string, WarmEntry>()
g[KEY] = cache

const objectIds = new WeakMap<object, number>()
let nextObjectId = 1

/** Driver, URL and options; functions and objects (a custom fetch, a WebSocket class) by identity. */
export function warmKey(config: ResolvedConfig): string {
  const parts = [config.driver, config.url]
  for (const name of Object.keys(config.options).sort()) parts.push(`${name}=${describe(config.options[name])}`)
  return parts.join('\n')
}

function describe(value: unknown): string {
  if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
    let id = objectIds.get(value)
    if (id === undefined) objectIds.set(value, (id = nextObjectId++))
    return `#${id}`
  }
  return JSON.stringify(value) ?? String(value)
}

export function warmEntry(key: string): WarmEntry {
  const existing = cache.get(key)
  if (existing !== undefined && !existing.closed) return existing
  const entry: WarmEntry = {
    client: undefined,
    pending: undefined,
    lastUsed: 0,
    busy: 0,
    timer: undefined,
    idle: undefined,
    closed: false,
    retire() {
      if (cache.get(key) === entry) cache.delete(key)
    },
  }
  cache.set(key, entry)
  return entry
}
