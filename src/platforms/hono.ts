import { argumentError, describeValue } from '../errors.js'
import { handler } from '../handler.js'
import { Registry } from '../registry.js'

interface HonoContext {
  set(key: 'registry', value: Registry): void
  readonly executionCtx: { waitUntil(promise: Promise<unknown>): void }
}

type Next = () => Promise<void>

/**
 * Hono middleware: one lazydb scope per request, the registry on `c.var.registry`.
 * @example
 * import { lazydb } from '@lazydb/core/hono'
 * app.use(lazydb(registry))
 * app.get('/notes', async (c) => c.json((await c.var.registry.database.sql`select * from notes`).rows))
 */
export function lazydb(registry: Registry): (c: HonoContext, next: Next) => Promise<void> {
  if (!(registry instanceof Registry)) {
    throw argumentError(
      'lazydb',
      `the argument must be a Registry (got ${describeValue(registry)})`,
      'Call app.use(lazydb(registry)) with the Registry your routes use',
    )
  }
  const scoped = handler(registry, async (c: HonoContext, next: Next, _platform: unknown) => {
    c.set('registry', registry)
    await next()
  })
  return (c, next) =>
    typeof c?.set === 'function' && typeof next === 'function'
      ? scoped(c, next, waitUntilOf(c))
      : Promise.reject(
          argumentError(
            'lazydb middleware',
            'it was called without a Hono context and next()',
            'Register it with app.use(lazydb(registry)) and let Hono call it',
          ),
        )
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
