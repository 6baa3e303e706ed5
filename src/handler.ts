import { argumentError, describeValue, LazyDbError } from './errors.js'
import type { Invocation } from './invocation.js'
import type { InvocationLifecycle } from './invocation-lifecycle.js'
import { checkHandlerArguments } from './options.js'
import { lifecycleOf, Registry } from './registry.js'

export interface HandlerOptions {
  /** Connect every database before `fn` runs (default: connect on first use). */
  eager?: boolean
  /**
   * Stop waiting for `fn` after this many milliseconds: the invocation ends as on any other path,
   * but at once (its request-scoped connections are closed and the work still on them rejects with
   * CLOSED; its open transactions roll back), and the call rejects with `LazyDbError` `TIMEOUT`.
   * `fn` itself cannot be stopped; what it does afterwards runs on connections of its own, closed
   * after each operation. Set it below the platform's own limit (e.g. a Lambda's timeout).
   */
  timeoutMs?: number
}

// biome-ignore lint/suspicious/noExplicitAny: any function the caller passes, called with the invocation's arguments
type AnyFunction = (...args: any[]) => any
/** A Registry, or a function of the invocation's arguments returning one: `(req, env) => Registry.fromEnv(env)`. */
export type RegistrySource<A extends unknown[]> = Registry | ((...args: A) => Registry)

/**
 * Wraps a function with startup/shutdown semantics for each invocation: enter the registry's
 * scope (no I/O unless `eager`), run `fn` with every argument, then close request-scoped
 * connections and roll back any transaction `fn` left open, keeping warm ones. `fn`'s error is
 * rethrown unchanged.
 *
 * @example
 * export default handler(registry, async (req: Request) => {
 *   const { rows } = await registry.database.sql`select * from notes`
 *   return Response.json(rows)
 * })
 */
export function handler<A extends unknown[], R>(
  registry: Registry,
  fn: (...args: A) => R,
  options?: HandlerOptions,
): (...args: A) => Promise<Awaited<R>>
/** With a registry factory: it gets the invocation's arguments; `fn` may take fewer of them. */
export function handler<A extends unknown[], R>(
  factory: (...args: A) => Registry,
  fn: (...args: NoInfer<A>) => R,
  options?: HandlerOptions,
): (...args: A) => Promise<Awaited<R>>
export function handler<A extends unknown[], R>(
  // biome-ignore lint/suspicious/noExplicitAny: a factory taking fewer or other arguments than fn
  factory: (...args: any[]) => Registry,
  fn: (...args: A) => R,
  options?: HandlerOptions,
): (...args: A) => Promise<Awaited<R>>
export function handler<A extends unknown[], R>(
  registry: RegistrySource<A>,
  fn: (...args: A) => R,
  options?: HandlerOptions,
): (...args: A) => Promise<Awaited<R>> {
  const { eager, timeoutMs } = checkHandlerArguments(
    registry instanceof Registry || typeof registry === 'function',
    fn,
    options,
  )
  const factory = typeof registry === 'function' ? (registry as AnyFunction) : undefined
  const fixed = factory === undefined ? lifecycleOf(registry as Registry) : undefined
  const call = fn as AnyFunction
  return function lazydbHandler(this: unknown, a?: unknown, b?: unknown, c?: unknown) {
    // Up to three arguments (every platform's signature) travel without an array; more are kept too.
    // biome-ignore lint/complexity/noArguments: a rest parameter would allocate an array on every call
    const rest = arguments.length > 3 ? Array.prototype.slice.call(arguments) : undefined
    let lifecycle: InvocationLifecycle
    if (fixed !== undefined) lifecycle = fixed
    else {
      try {
        lifecycle = resolve(factory!, this, rest ?? [a, b, c])
      } catch (error) {
        return Promise.reject(error)
      }
    }
    if (timeoutMs === undefined) return invoke(lifecycle, call, eager, this, a, b, c, rest)
    return invokeWithin(timeoutMs, lifecycle, call, eager, this, a, b, c, rest)
  } as unknown as (...args: A) => Promise<Awaited<R>>
}

function resolve(factory: AnyFunction, thisArg: unknown, args: unknown[]): InvocationLifecycle {
  const registry: unknown = factory.apply(thisArg, args)
  if (!(registry instanceof Registry)) {
    throw argumentError(
      'handler',
      `the registry factory returned ${describeValue(registry)}, not a Registry`,
      'Return a Registry, e.g. (req, env) => Registry.fromEnv(env)',
    )
  }
  return lifecycleOf(registry)
}

function start(
  lifecycle: InvocationLifecycle,
  invocation: Invocation | undefined,
  fn: AnyFunction,
  thisArg: unknown,
  a: unknown,
  b: unknown,
  c: unknown,
  rest: unknown[] | undefined,
): unknown {
  return rest === undefined
    ? lifecycle.run(invocation, fn, thisArg, a, b, c)
    : lifecycle.apply(invocation, fn, thisArg, rest)
}

async function invoke(
  lifecycle: InvocationLifecycle,
  fn: AnyFunction,
  eager: boolean,
  thisArg: unknown,
  a: unknown,
  b: unknown,
  c: unknown,
  rest: unknown[] | undefined,
): Promise<unknown> {
  const invocation = lifecycle.enter()
  try {
    if (eager) await lifecycle.openAll(invocation)
    return await start(lifecycle, invocation, fn, thisArg, a, b, c, rest)
  } finally {
    const ending = lifecycle.leave(invocation, false, a, b, c)
    if (ending !== undefined) await ending
  }
}

const TIMED_OUT = Symbol('timed out')

/** `invoke` with a deadline: when it passes, the invocation ends at once and the call rejects with TIMEOUT. */
async function invokeWithin(
  timeoutMs: number,
  lifecycle: InvocationLifecycle,
  fn: AnyFunction,
  eager: boolean,
  thisArg: unknown,
  a: unknown,
  b: unknown,
  c: unknown,
  rest: unknown[] | undefined,
): Promise<unknown> {
  const invocation = lifecycle.enter()
  let timer: ReturnType<typeof setTimeout> | undefined
  let timedOut = false
  const work = (async () => {
    if (eager) await lifecycle.openAll(invocation)
    return await start(lifecycle, invocation, fn, thisArg, a, b, c, rest)
  })()
  try {
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(resolve, timeoutMs, TIMED_OUT)))
    const outcome = await Promise.race([work, deadline])
    if (outcome !== TIMED_OUT) return outcome
    timedOut = true
    work.catch(() => undefined) // what fn does from here on is no longer this call's outcome
    throw new LazyDbError(
      'TIMEOUT',
      `handler: the function ran past timeoutMs (${timeoutMs} ms); its request-scoped connections were closed ` +
        'and its open transactions rolled back. Raise timeoutMs or make the function faster',
    )
  } finally {
    clearTimeout(timer)
    const ending = lifecycle.leave(invocation, timedOut, a, b, c)
    if (ending !== undefined) await ending
  }
}
