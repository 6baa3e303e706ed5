import type { Registry } from '../registry.js'
import { handler as coreHandler, type HandlerOptions, type RegistrySource } from '../handler.js'

interface LambdaContext {
  callbackWaitsForEmptyEventLoop?: boolean
}

/** Warm sockets keep the event loop busy, so Lambda must not wait for it to empty. A frozen context is left alone. */
function dontWaitForEmptyEventLoop(context: unknown): void {
  if (typeof context !== 'object' || context === null) return
  try {
    ;(context as LambdaContext).callbackWaitsForEmptyEventLoop = false
  } catch {}
}

/**
 * An AWS Lambda handler for any event type. Warm connections stay open across invocations, so
 * Lambda is told not to wait for an empty event loop (it would never be empty).
 * @example
 * import { handler } from '@lazydb/core/aws-lambda'
 * export const main = handler(registry, async (event, context) => {
 *   const { rows } = await registry.database.sql`select * from notes`
 *   return { statusCode: 200, body: JSON.stringify(rows) }
 * })
 */
export function handler<E, C extends object | undefined, R>(
  registry: RegistrySource<[event: E, context: C]>,
  fn: (event: E, context: C) => R,
  options?: HandlerOptions,
): (event: E, context: C) => Promise<Awaited<R>> {
  const wrapped = coreHandler(registry as Registry, fn, options)
  return function lazydbLambda(this: unknown, ...args: [event: E, context: C]) {
    dontWaitForEmptyEventLoop(args[1])
    return wrapped.apply(this, args)
  }
}
