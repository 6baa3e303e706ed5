import { AsyncLocalStorage } from 'node:async_hooks'
import { handler } from '../handler.js'
import { provideAsyncLocalStorage } from '../platform.js'
import type { Registry } from '../registry.js'

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

/**
 * A Worker's `ExportedHandler` whose every event runs in its own scope: socket connections are
 * opened per request and closed through `ctx.waitUntil` after the response; HTTP drivers stay warm.
 * Needs the `nodejs_compat` compatibility flag.
 * @example
 * import { withRegistry } from 'lazydb/cloudflare'
 * export default withRegistry((env) => Registry.fromEnv(env), {
 *   async fetch(req, env) { return Response.json((await Registry.fromEnv(env).database.sql`select 1 as ok`).rows) },
 * })
 */
export function withRegistry<Env>(registry: (env: Env) => Registry, handlers: WorkerHandlers<Env>): WorkerHandlers<Env> {
  const fromEnv = (_event: unknown, env: Env, _ctx: ExecutionContext) => registry(env)
  const exported: WorkerHandlers<Env> = {}
  if (handlers.fetch) exported.fetch = handler<[Request, Env, ExecutionContext], Response | Promise<Response>>(fromEnv, handlers.fetch)
  if (handlers.scheduled) exported.scheduled = handler<[unknown, Env, ExecutionContext], void | Promise<void>>(fromEnv, handlers.scheduled)
  if (handlers.queue) exported.queue = handler<[unknown, Env, ExecutionContext], void | Promise<void>>(fromEnv, handlers.queue)
  return exported
}
