import { argumentError, describeValue } from '../errors.js'
import { handler } from '../handler.js'
import { Registry } from '../registry.js'

type Done = (error?: Error) => void

interface FastifyRequestLike {
  registry?: Registry
  [ENDS]?: () => void
}

/** The parts of a Fastify instance the plugin uses (loosely typed: Fastify's own types are overloaded per hook). */
export interface FastifyLike {
  decorateRequest(name: string, value: null): unknown
  // biome-ignore lint/suspicious/noExplicitAny: each hook's own arguments, which Fastify types per hook name
  addHook(name: string, hook: (...args: any[]) => unknown): unknown
}

const ENDS = Symbol('lazydb.ends')

/**
 * A Fastify plugin: one lazydb invocation per request, entered in `onRequest` and left in `onResponse` (or
 * `onRequestAbort`), as `handler()` gives a function: request-scoped clients close and a transaction left open
 * rolls back. The rest of the request runs from `onRequest`'s `done()`, inside the invocation's async context
 * (Fastify carries it across body parsing, its own parsers and custom ones alike). The registry connects when
 * the app is ready (a failure fails `ready()` with `CONNECT_FAILED`) and disconnects when it closes. The
 * registry is on `request.registry`.
 * @example
 * import Fastify from 'fastify'
 * import { lazydbPlugin } from '@lazydb/core/node'
 * const app = Fastify()
 * await app.register(lazydbPlugin, { registry })
 * app.get('/notes', async () => (await registry.database.sql`select * from notes`).rows)
 */
export async function lazydbPlugin(fastify: FastifyLike, options: { registry: Registry }): Promise<void> {
  const registry = options?.registry
  if (!(registry instanceof Registry)) {
    throw argumentError(
      'lazydbPlugin',
      `options.registry must be a Registry (got ${describeValue(registry)})`,
      'Register it with app.register(lazydbPlugin, { registry })',
    )
  }
  const scoped = handler(registry, (request: FastifyRequestLike, _reply: unknown, done: Done) => {
    request.registry = registry
    const ended = new Promise<void>((resolve) => (request[ENDS] = resolve))
    done()
    return ended
  })
  fastify.decorateRequest('registry', null)
  fastify.addHook('onRequest', (request: FastifyRequestLike, reply: unknown, done: Done) => {
    scoped(request, reply, done).catch(done)
  })
  fastify.addHook('onResponse', (request: FastifyRequestLike, _reply: unknown, done: Done) => {
    request[ENDS]?.()
    done()
  })
  fastify.addHook('onRequestAbort', (request: FastifyRequestLike, done: Done) => {
    request[ENDS]?.()
    done()
  })
  fastify.addHook('onReady', () => registry.connect())
  fastify.addHook('onClose', () => registry.disconnect())
}

// As fastify-plugin marks a plugin: its hooks apply to the whole app, not only to an encapsulated child context.
Object.assign(lazydbPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'lazydb',
})
