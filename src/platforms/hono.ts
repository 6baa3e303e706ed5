import { handler } from '../handler.js'
import type { Registry } from '../registry.js'

interface HonoContext {
  set(key: 'registry', value: Registry): void
  readonly executionCtx: { waitUntil(promise: Promise<unknown>): void }
}

type Next = () => Promise<void>

/**
 * Hono middleware: one lazydb scope per request, the registry on `c.var.registry`.
 * @example
 * import { lazydb } from 'lazydb/hono'
 * app.use(lazydb(registry))
 * app.get('/notes', async (c) => c.json((await c.var.registry.database.sql`select * from notes`).rows))
 */
export function lazydb(registry: Registry): (c: HonoContext, next: Next) => Promise<void> {
  const scoped = handler(registry, async (c: HonoContext, next: Next, _platform: unknown) => {
    c.set('registry', registry)
    await next()
  })
  return (c, next) => scoped(c, next, waitUntilOf(c))
}

/** Hono's `executionCtx` getter throws where the runtime has none (plain Node). */
function waitUntilOf(c: HonoContext): { waitUntil: (p: Promise<unknown>) => void } | undefined {
  try {
    const ctx = c.executionCtx
    return typeof ctx?.waitUntil === 'function' ? ctx : undefined
  } catch {
    return undefined
  }
}
