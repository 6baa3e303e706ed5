// Rollback test mode: while a scope is open on a registry, every statement of each of its databases
// runs in one transaction per database (begun on the database's first use), rolled back when the
// scope ends. It covers the whole registry, not one async context, so handler() invocations, servers
// called over HTTP and ORMs on client() in the same process all land in it.
import { type ContextStorage, createContextStorage } from './context-storage.js'
import { argumentError, LazyDbError } from './errors.js'
import { isTimerMs } from './options.js'
import { Registry, runtimesOf } from './registry.js'
import { type Frame, RollbackSession } from './rollback-session.js'

export interface RollbackOptions {
  /**
   * How long work from outside an open transaction of the scope waits for it to end before it fails
   * with TIMEOUT (default 10 000 ms): in the scope one session runs everything, so a transaction's fn
   * that waits for such work would otherwise hang.
   */
  lockTimeoutMs?: number
}

const DEFAULT_LOCK_TIMEOUT_MS = 10_000

// One storage for every scope of the process: each AsyncLocalStorage that ever ran stays in Node's list
// and costs every new promise a little, so a suite of thousands of tests must not make one per scope.
let frames: ContextStorage<Frame> | undefined | null = null
const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose')

/** An open rollback scope; `end()` rolls every database's transaction back. */
export class RollbackScope {
  readonly #sessions: RollbackSession[]
  #ending: Promise<void> | undefined = undefined

  /** Use `startRollback(registry)`. */
  constructor(sessions: RollbackSession[]) {
    this.#sessions = sessions
  }

  /**
   * Ends the scope: work already queued finishes, then each database's transaction rolls back and
   * statements run for real again. Rejects with the first rollback that failed (after trying all).
   * @example afterEach(() => scope.end())
   */
  end(): Promise<void> {
    this.#ending ??= this.#end()
    return this.#ending
  }

  async #end(): Promise<void> {
    for (const session of this.#sessions) {
      if (session.runtime.rollback === session) session.runtime.rollback = undefined
    }
    const results = await Promise.allSettled(this.#sessions.map((session) => session.close()))
    const failed = results.find((r) => r.status === 'rejected')
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
  }

  async [asyncDispose](): Promise<void> {
    await this.end()
  }
}

/**
 * Opens a rollback scope on `registry` (test mode): from now until `scope.end()`, every statement of
 * every database of the registry runs in one transaction per database, rolled back at the end;
 * `transaction()` calls become savepoints, and `client()` hands out an object on the same session
 * (Postgres, libSQL). Nothing connects until a database is used.
 * @example
 * let scope: RollbackScope
 * beforeEach(() => {
 *   scope = startRollback(registry)
 * })
 * afterEach(() => scope.end())
 */
export function startRollback(registry: Registry, options: RollbackOptions = {}): RollbackScope {
  if (!(registry instanceof Registry)) {
    throw argumentError('startRollback', 'the first argument must be a Registry', 'startRollback(registry)')
  }
  const lockTimeoutMs = checkOptions(options)
  const runtimes = runtimesOf(registry)
  const active = runtimes.find((runtime) => runtime.rollback !== undefined)
  if (active !== undefined) {
    throw new LazyDbError(
      'CONFIG_INVALID',
      `database "${active.alias}": a rollback scope is already open on this registry. End it first ` +
        '(await scope.end() in afterEach, or let withRollback return)',
      { database: active.alias },
    )
  }
  if (frames === null) frames = createContextStorage<Frame>()
  const storage = frames
  const sessions = runtimes.map((runtime) => new RollbackSession(runtime, storage, lockTimeoutMs))
  for (const session of sessions) session.runtime.rollback = session
  return new RollbackScope(sessions)
}

/**
 * Runs `fn` inside a rollback scope on `registry` and rolls everything it wrote back when `fn` has
 * settled; resolves to what `fn` resolved to, rejects with `fn`'s error unchanged.
 * @example
 * it('adds a user', () =>
 *   withRollback(registry, async () => {
 *     await registry.database.query('insert into users(name) values ($1)', ['ada'])
 *   }))
 */
export async function withRollback<T>(
  registry: Registry,
  fn: () => Promise<T> | T,
  options?: RollbackOptions,
): Promise<T> {
  if (typeof fn !== 'function') {
    throw argumentError(
      'withRollback',
      'the second argument must be a function',
      'withRollback(registry, async () => …)',
    )
  }
  const scope = startRollback(registry, options)
  let result: T
  try {
    result = await fn()
  } catch (error) {
    await scope.end().catch(() => undefined)
    throw error
  }
  await scope.end()
  return result
}

function checkOptions(options: RollbackOptions): number {
  const ms = options?.lockTimeoutMs
  if (ms === undefined) return DEFAULT_LOCK_TIMEOUT_MS
  if (!isTimerMs(ms) || ms <= 0) {
    throw argumentError(
      'startRollback',
      'lockTimeoutMs must be a positive number of milliseconds',
      'Pass e.g. { lockTimeoutMs: 5000 }',
    )
  }
  return ms
}
