import { argumentError, describeValue } from '../errors.js'
import { handler } from '../handler.js'
import { Registry } from '../registry.js'

/** The parts of Express's (and node:http's) response the middleware uses. */
interface ExpressResponse {
  readonly writableFinished?: boolean
  readonly destroyed?: boolean
  once(event: 'finish' | 'close', listener: () => void): unknown
  locals?: Record<string, unknown>
}

type Next = (error?: unknown) => void

/**
 * Express (or Connect) middleware: one lazydb invocation per request, from the middleware to the end of the
 * response (finished, or closed by the client), as `handler()` gives a function: request-scoped clients close
 * and a transaction left open rolls back when it ends. The registry is on `res.locals.registry`.
 * @example
 * import express from 'express'
 * import { lazydb, lifespan } from '@lazydb/core/node'
 * const app = express()
 * app.use(lazydb(registry))
 * app.get('/notes', async (req, res) => res.json((await registry.database.sql`select * from notes`).rows))
 * lifespan(registry, { server: app.listen(3000) })
 */
export function lazydb(registry: Registry): (req: unknown, res: ExpressResponse, next: Next) => void {
  if (!(registry instanceof Registry)) {
    throw argumentError(
      'lazydb',
      `the argument must be a Registry (got ${describeValue(registry)})`,
      'Call app.use(lazydb(registry)) with the Registry your routes use',
    )
  }
  // The rest of the chain runs from next(), inside the invocation's scope, which follows it through async work.
  const scoped = handler(registry, (_req: unknown, res: ExpressResponse, next: Next) => {
    if (res.locals !== undefined) res.locals.registry = registry
    const ended = new Promise<void>((resolve) => {
      res.once('finish', resolve)
      res.once('close', resolve)
    })
    next()
    return ended
  })
  return (req, res, next) => {
    if (typeof res?.once !== 'function' || typeof next !== 'function') {
      throw argumentError(
        'lazydb middleware',
        'it was called without a response and next()',
        'Register it with app.use(lazydb(registry)) and let Express call it',
      )
    }
    if (res.writableFinished === true || res.destroyed === true) return next()
    scoped(req, res, next).catch(next)
  }
}
