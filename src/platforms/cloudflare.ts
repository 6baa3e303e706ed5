import { AsyncLocalStorage } from 'node:async_hooks'
import { argumentError, describeValue, isOptionsObject } from '../errors.js'
import { handler } from '../handler.js'
import { provideAsyncLocalStorage } from '../context-storage.js'
import { Registry } from '../registry.js'

// Request scope needs the current request; Workers expose AsyncLocalStorage with nodejs_compat.
provideAsyncLocalStorage(AsyncLocalStorage)

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void
  passThroughOnException?(): void
}

/** The handlers lazydb wraps; each gets the Worker's own arguments. */
export interface WorkerHandlers<Env> {
  fetch?: (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response>
  scheduled?: (controller: unknown, env: Env, ctx: ExecutionContext) => void | Promise<void>
  queue?: (batch: unknown, env: Env, ctx: ExecutionContext) => void | Promise<void>
}

const HANDLERS = ['fetch', 'scheduled', 'queue'] as const

/**
 * A Worker's `ExportedHandler` whose every event runs in its own scope: socket connections are
 * opened per request and closed through `ctx.waitUntil` after the response; HTTP drivers stay warm.
 * Needs the `nodejs_compat` compatibility flag.
 * @example
 * import { withRegistry } from '@lazydb/core/cloudflare'
 * export default withRegistry((env) => Registry.fromEnv(env), {
 *   async fetch(req, env) { return Response.json((await Registry.fromEnv(env).database.sql`select 1 as ok`).rows) },
 * })
 */
export function withRegistry<Env>(
  registry: Registry | ((env: Env) => Registry),
  handlers: WorkerHandlers<Env>,
): WorkerHandlers<Env> {
  if (!(registry instanceof Registry) && typeof registry !== 'function') {
    throw argumentError(
      'withRegistry',
      `the first argument must be a Registry or a function of env returning one (got ${describeValue(registry)})`,
      'Call withRegistry((env) => Registry.fromEnv(env), { fetch })',
    )
  }
  if (!isOptionsObject(handlers as unknown)) {
    throw argumentError(
      'withRegistry',
      `the second argument must be an object of handlers (got ${describeValue(handlers)})`,
      'Pass { async fetch(request, env, ctx) { … } }',
    )
  }
  for (const key of Object.keys(handlers)) {
    if (!(HANDLERS as readonly string[]).includes(key)) {
      throw argumentError(
        'withRegistry',
        'it wraps fetch, scheduled and queue only, and would drop the other handler ' +
          JSON.stringify(key.slice(0, 64)),
        'Export that one beside them: export default { ...withRegistry(registry, { fetch }), email }',
      )
    }
  }
  for (const name of HANDLERS) {
    const fn = handlers[name]
    if (fn !== undefined && typeof fn !== 'function')
      throw argumentError(
        'withRegistry',
        `${name} must be a function (got ${describeValue(fn)})`,
        `Pass ${name}(…) { … } or leave it out`,
      )
  }
  if (HANDLERS.every((name) => handlers[name] === undefined))
    throw argumentError('withRegistry', 'no handler was given', 'Pass at least one of fetch, scheduled and queue')
  const source = registry
  const wrap = <E, R>(fn: (event: E, env: Env, ctx: ExecutionContext) => R) =>
    source instanceof Registry
      ? handler(source, fn)
      : handler((_event: E, env: Env, _ctx: ExecutionContext) => source(env), fn)
  const exported: WorkerHandlers<Env> = {}
  if (handlers.fetch) exported.fetch = wrap(handlers.fetch)
  if (handlers.scheduled) exported.scheduled = wrap(handlers.scheduled)
  if (handlers.queue) exported.queue = wrap(handlers.queue)
  return exported
}
