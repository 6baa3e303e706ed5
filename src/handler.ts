import { argumentError, describeValue, isOptionsObject, LazyDbError, quoted } from './errors.js'
import { Registry } from './registry.js'

export interface HandlerOptions {
  /** Connect every database before `fn` runs (default: connect on first use). */
  eager?: boolean
  /**
   * Stop waiting for `fn` after this many milliseconds: the invocation ends as on any other path
   * (request-scoped connections closed, open transactions rolled back) and the call rejects with
   * `LazyDbError` `TIMEOUT`. `fn` itself cannot be stopped; what it does afterwards runs on
   * connections of its own, closed after each operation. Set it below the platform's own limit
   * (e.g. a Lambda's timeout) so the cleanup happens before the platform kills the instance.
   */
  timeoutMs?: number
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any
/** A Registry, or a function of the invocation's arguments returning one (e.g. `(req, env) => Registry.fromEnv(env)`). */
export type RegistrySource<A extends unknown[]> = Registry | ((...args: A) => Registry)

/**
 * Wraps a function with startup/shutdown semantics for each invocation: enter the registry's
 * scope (no I/O unless `eager`), run `fn`, then close request-scoped connections and roll back
 * any transaction `fn` left open, keeping warm ones. `fn`'s error is rethrown unchanged.
 *
 * @example
 * export default handler(registry, async (req: Request) => {
 *   const { rows } = await registry.database.sql`select * from notes`
 *   return Response.json(rows)
 * })
 */
export function handler<A extends unknown[], R>(registry: Registry, fn: (...args: A) => R, options?: HandlerOptions): (...args: A) => Promise<Awaited<R>>
/** With a registry factory: it gets the invocation's arguments; `fn` may take fewer of them. */
export function handler<A extends unknown[], R>(factory: (...args: A) => Registry, fn: (...args: NoInfer<A>) => R, options?: HandlerOptions): (...args: A) => Promise<Awaited<R>>
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function handler<A extends unknown[], R>(factory: (...args: any[]) => Registry, fn: (...args: A) => R, options?: HandlerOptions): (...args: A) => Promise<Awaited<R>>
export function handler<A extends unknown[], R>(registry: RegistrySource<A>, fn: (...args: A) => R, options?: HandlerOptions): (...args: A) => Promise<Awaited<R>> {
  if (typeof fn !== 'function') throw argumentError('handler', `the second argument must be your function (got ${describeValue(fn)})`, 'Call handler(registry, async (req) => …)')
  if (!(registry instanceof Registry) && typeof registry !== 'function') {
    throw argumentError('handler', `the first argument must be a Registry or a function returning one (got ${describeValue(registry)})`, 'Call handler(registry, fn) or handler((req, env) => Registry.fromEnv(env), fn)')
  }
  if (options !== undefined) checkOptions(options)
  const eager = options?.eager === true
  const timeoutMs = options?.timeoutMs
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw argumentError('handler', `timeoutMs must be a number of milliseconds > 0 (got ${describeValue(timeoutMs)})`, 'Pass e.g. { timeoutMs: 25_000 }, below the platform timeout')
  }
  const factory = typeof registry === 'function' ? registry : undefined
  const fixed = factory === undefined ? (registry as Registry) : undefined
  return function lazydbHandler(this: unknown, a?: unknown, b?: unknown, c?: unknown) {
    let target: Registry
    if (fixed !== undefined) target = fixed
    else {
      try {
        target = resolve(factory!, this, a, b, c)
      } catch (error) {
        return Promise.reject(error)
      }
    }
    if (timeoutMs === undefined) return invoke(target, fn, eager, this, a, b, c)
    return invokeWithin(timeoutMs, target, fn, eager, this, a, b, c)
  } as unknown as (...args: A) => Promise<Awaited<R>>
}

function checkOptions(options: HandlerOptions): void {
  if (!isOptionsObject(options)) throw argumentError('handler', `options must be an object (got ${describeValue(options)})`, 'Pass { eager: true } or nothing')
  for (const key of Object.keys(options)) {
    if (key !== 'eager' && key !== 'timeoutMs') throw argumentError('handler', `unknown option ${quoted(key)}`, 'Use eager and timeoutMs, or leave the options out')
  }
  if (options.eager !== undefined && typeof options.eager !== 'boolean') throw argumentError('handler', `eager must be a boolean (got ${describeValue(options.eager)})`, 'Pass { eager: true } or leave it out')
}

function resolve(factory: AnyFunction, thisArg: unknown, a: unknown, b: unknown, c: unknown): Registry {
  const registry: unknown = factory.call(thisArg, a, b, c)
  if (!(registry instanceof Registry)) throw argumentError('handler', `the registry factory returned ${describeValue(registry)}, not a Registry`, 'Return a Registry, e.g. (req, env) => Registry.fromEnv(env)')
  return registry
}

async function invoke(registry: Registry, fn: AnyFunction, eager: boolean, thisArg: unknown, a: unknown, b: unknown, c: unknown): Promise<unknown> {
  const invocation = registry.enter()
  try {
    if (eager) await registry.run(invocation, openAll, registry, undefined, undefined, undefined)
    return await registry.run(invocation, fn, thisArg, a, b, c)
  } finally {
    const ending = registry.leave(invocation, a, b, c)
    if (ending !== undefined) await ending
  }
}

const TIMED_OUT = Symbol('timed out')

/** `invoke` with a deadline: when it passes, the invocation ends at once and the call rejects with TIMEOUT. */
async function invokeWithin(timeoutMs: number, registry: Registry, fn: AnyFunction, eager: boolean, thisArg: unknown, a: unknown, b: unknown, c: unknown): Promise<unknown> {
  const invocation = registry.enter()
  let timer: ReturnType<typeof setTimeout> | undefined
  const work = (async () => {
    if (eager) await registry.run(invocation, openAll, registry, undefined, undefined, undefined)
    return await registry.run(invocation, fn, thisArg, a, b, c)
  })()
  try {
    const outcome = await Promise.race([work, new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(resolve, timeoutMs, TIMED_OUT)))])
    if (outcome !== TIMED_OUT) return outcome
    work.catch(() => undefined) // what fn does from here on is no longer this call's outcome
    throw new LazyDbError(
      'TIMEOUT',
      `handler: the function ran past timeoutMs (${timeoutMs} ms); its request-scoped connections were closed and its open transactions rolled back. Raise timeoutMs or make the function faster`,
    )
  } finally {
    clearTimeout(timer)
    const ending = registry.leave(invocation, a, b, c)
    if (ending !== undefined) await ending
  }
}

function openAll(this: Registry): Promise<void> {
  return this.openAll()
}
