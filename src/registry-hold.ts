// registry.connect() / disconnect(): a reference count over one opening of every database. Concurrent
// connect() calls share the opening (one fails, all fail, and none counts); disconnect() that brings
// the count to zero ends the registry's own owner and closes the warm clients, and a connect() it
// overtook rejects with CLOSED.
import type { DatabaseRuntime } from './database-runtime.js'
import { LazyDbError } from './errors.js'
import { Invocation } from './invocation.js'
import type { InvocationLifecycle } from './invocation-lifecycle.js'

export class RegistryHold {
  readonly #lifecycle: InvocationLifecycle
  readonly #runtimes: readonly DatabaseRuntime[]
  #count = 0
  /** Bumped by each disconnect that closes: a connect() from before it has been overtaken. */
  #generation = 0
  #opening: Promise<void> | undefined = undefined

  constructor(lifecycle: InvocationLifecycle, runtimes: readonly DatabaseRuntime[]) {
    this.#lifecycle = lifecycle
    this.#runtimes = runtimes
  }

  async connect(): Promise<void> {
    this.#count++
    const generation = this.#generation
    const opening = (this.#opening ??= this.#openAll(generation))
    try {
      await opening
    } catch (error) {
      if (generation !== this.#generation) throw this.#overtaken(error)
      this.#count--
      throw error
    }
    if (generation !== this.#generation) throw this.#overtaken(undefined)
  }

  async #openAll(generation: number): Promise<void> {
    const owner = (this.#lifecycle.held ??= new Invocation())
    const results = await Promise.allSettled(this.#runtimes.map((r) => r.open(owner)))
    const failed: [string, unknown][] = []
    results.forEach((r, i) => {
      if (r.status === 'rejected') failed.push([this.#runtimes[i]!.alias, r.reason])
    })
    if (failed.length === 0) return
    if (generation === this.#generation) {
      // Everyone waiting on this opening fails with it: nothing stays connected, nothing counts.
      this.#opening = undefined
      await this.#closeAll(false).catch(() => undefined)
    }
    const names = failed.map(([alias]) => `"${alias}"`).join(', ')
    const detail = failed
      .map(([alias, reason]) => `${alias}: ${(reason as Error)?.message ?? String(reason)}`)
      .join('; ')
    throw new LazyDbError(
      'CONNECT_FAILED',
      `could not connect ${names} (the others were disconnected again). ${detail}`,
      {
        database: failed.length === 1 ? failed[0]![0] : undefined,
        cause: failed.length === 1 ? failed[0]![1] : new AggregateError(failed.map(([, reason]) => reason)),
      },
    )
  }

  #overtaken(cause: unknown): LazyDbError {
    return new LazyDbError(
      'CLOSED',
      'connect(): disconnect() ran while the databases were still connecting; nothing is held for this call',
      {
        cause,
      },
    )
  }

  async disconnect(force: boolean): Promise<void> {
    if (force) this.#count = 0
    else if (this.#count > 0 && --this.#count > 0) return
    this.#generation++
    this.#opening = undefined
    await this.#closeAll(force)
  }

  /** Ends the registry's owner and retires every warm client, all marked at once, then waits. */
  async #closeAll(force: boolean): Promise<void> {
    const owner = this.#lifecycle.held
    this.#lifecycle.held = undefined
    const ending = owner?.end(force, 'disconnect')
    const closing: Promise<unknown>[] = this.#runtimes.map((r) => r.retireWarm(force, ending))
    if (ending !== undefined) closing.push(ending)
    if (force) closing.push(this.#lifecycle.endAllNow())
    const results = await Promise.allSettled(closing)
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    if (failures.length > 0) {
      const names = failures.map((f) => (f as LazyDbError).database ?? '?').join(', ')
      throw new LazyDbError('CLOSED', `disconnect finished, but closing failed for: ${names}`, {
        cause: new AggregateError(failures),
      })
    }
  }
}
