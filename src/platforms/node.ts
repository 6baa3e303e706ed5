// @lazydb/core/node: long-running Node servers. The lifespan (connect at start, drain and disconnect on a
// signal) and the Express and Fastify adapters; Hono on @hono/node-server uses @lazydb/core/hono with lifespan.
export {
  lifespan,
  type ClosableServer,
  type Lifespan,
  type LifespanOptions,
  type LifespanOutcome,
} from './node-lifespan.js'
export { lazydb } from './node-express.js'
export { lazydbPlugin, type FastifyLike } from './node-fastify.js'
