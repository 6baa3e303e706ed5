// The invocation lifecycle of one registry: enter (count it, cold or warm), run the function in its
// scope, leave (end what it owned, after the response through waitUntil where the platform has
// one, and keep the instance alive until a warm socket's idle close). It also answers who owns
// work started now: the invocation (found through AsyncLocalStorage where a database is
// request-scoped), all invocations in flight together (where no storage tells them apart: it costs
// every promise something on Node 20), or the registry while connect() holds it.
import { createContextStorage, type ContextStorage } from './context-storage.js'
import type { DatabaseRuntime } from './database-runtime.js'
import { Invocation } from './invocation.js'
import { findWaitUntil, type WaitUntil } from './wait-until.js'

const COLD = Symbol.for('lazydb.cold-start-seen')
const g = globalThis as Record<symbol, unknown>
let coldSeen = false

type AnyFunction = (...args: unknown[]) => unknown

export class InvocationLifecycle {
  readonly #storage: ContextStorage<Invocation> | undefined
  readonly #runtimes: readonly DatabaseRuntime[]
  /** Some database keeps a socket open across invocations (idle close, keep-alive through waitUntil). */
  readonly #warmSockets: boolean
  #shared: Invocation | undefined = undefined
  /** Invocations in flight that own clients of their own (request scope), for a forced disconnect. */
  readonly #running = new Set<Invocation>()
  /** The registry's own owner while connect() holds it. */
  held: Invocation | undefined = undefined
  #inFlight = 0
  /** Resolved when the last invocation in flight leaves (whenIdle). */
  #idle: (() => void)[] | undefined = undefined
  total = 0
  cold = 0

  constructor(runtimes: readonly DatabaseRuntime[]) {
    this.#runtimes = runtimes
    // AsyncLocalStorage costs every promise something on Node 20, so only request scope turns it on.
    this.#storage = runtimes.some((r) => r.scope === 'request') ? createContextStorage<Invocation>() : undefined
    this.#warmSockets = runtimes.some((r) => r.socket && r.scope === 'warm')
  }

  currentOwner(): Invocation | undefined {
    const storage = this.#storage
    if (storage !== undefined) {
      const store = storage.getStore()
      // Work an invocation left running after it ended has no owner: it gets clients of its own.
      if (store !== undefined) return store.ended ? undefined : store
      return this.held
    }
    return this.#inFlight > 0 ? this.#shared : this.held
  }

  /** Invocations entered and not yet left. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Settles once no invocation is in flight (at once when none is): what a server's drain waits for. */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => (this.#idle ??= []).push(resolve))
  }

  isManaged(): boolean {
    return this.#inFlight > 0 || this.held !== undefined
  }

  /** Starts an invocation: the one to pass to `run` and `leave` (undefined where invocations share an owner). */
  enter(): Invocation | undefined {
    this.total++
    if (!coldSeen) {
      // Shared through globalThis so a second copy of lazydb in the process doesn't count again.
      coldSeen = g[COLD] === true
      if (!coldSeen) {
        g[COLD] = coldSeen = true
        this.cold++
      }
    }
    this.#inFlight++
    if (this.#storage !== undefined) {
      const invocation = new Invocation()
      this.#running.add(invocation)
      return invocation
    }
    this.#shared ??= new Invocation()
    return undefined
  }

  /** Calls `fn` with up to three arguments inside the invocation's scope, where it has one. */
  run(
    invocation: Invocation | undefined,
    fn: AnyFunction,
    thisArg: unknown,
    a: unknown,
    b: unknown,
    c: unknown,
  ): unknown {
    if (invocation === undefined) return fn.call(thisArg, a, b, c)
    return this.#storage!.run(invocation, callWith, fn, thisArg, a, b, c)
  }

  /** Calls `fn` with any number of arguments inside the invocation's scope. */
  apply(invocation: Invocation | undefined, fn: AnyFunction, thisArg: unknown, args: unknown[]): unknown {
    if (invocation === undefined) return fn.apply(thisArg, args)
    return this.#storage!.run(invocation, applyWith, fn, thisArg, args)
  }

  /**
   * Ends every invocation still in flight at once (a forced disconnect): their transactions are
   * dropped and their request clients closed under them; what they do afterwards gets clients of its own.
   */
  endAllNow(): Promise<unknown> {
    const ending = [...this.#running, ...(this.#shared === undefined ? [] : [this.#shared])]
    this.#running.clear()
    this.#shared = undefined
    return Promise.allSettled(ending.map((invocation) => invocation.end(true, 'disconnect')))
  }

  /** Connects every database now, in the invocation's scope (handler's `eager`). */
  openAll(invocation: Invocation | undefined): Promise<void> {
    const owner = invocation ?? this.currentOwner()
    const open = () => Promise.all(this.#runtimes.map((r) => r.open(owner))).then(() => undefined)
    return invocation === undefined ? open() : this.#storage!.run(invocation, open)
  }

  /**
   * Ends an invocation: its transactions roll back, its holds are released, its request clients
   * close (at once when `force`: the invocation timed out). Through `waitUntil` after the response
   * where the platform has one, else before returning; a rollback always before returning.
   */
  leave(
    invocation: Invocation | undefined,
    force: boolean,
    a: unknown,
    b: unknown,
    c: unknown,
  ): Promise<void> | undefined {
    this.#inFlight--
    if (this.#inFlight === 0 && this.#idle !== undefined) {
      for (const resolve of this.#idle) resolve()
      this.#idle = undefined
    }
    let ending = invocation
    if (ending === undefined && this.#inFlight === 0 && this.#shared?.ownsAnything === true) {
      // The shared owner ends with the last invocation in flight; kept (not reallocated) when it owns nothing.
      ending = this.#shared
      this.#shared = undefined
    }
    let work: Promise<void> | undefined
    let rollsBack = false
    if (ending !== undefined) {
      if (ending.ownsAnything) {
        rollsBack = ending.rollsBackAtEnd
        work = ending.end(force).catch(() => undefined) // each failure was reported through on.error
      } else ending.ended = true
    }
    if (invocation !== undefined) {
      // Still running until its end has finished: a forced disconnect meanwhile must reach it.
      if (work === undefined) this.#running.delete(invocation)
      else work = work.then(() => void this.#running.delete(invocation))
    }
    if (work === undefined && !this.#warmSockets) return undefined
    const waitUntil = findWaitUntil(a, b, c)
    if (waitUntil !== undefined && this.#warmSockets) this.#keepAliveForIdleClose(waitUntil)
    if (work === undefined) return undefined
    if (waitUntil === undefined || rollsBack) return work
    waitUntil(work)
    return undefined
  }

  /**
   * Hands the platform, for each open warm socket, a promise that settles when its idle close has
   * happened, so the instance is not suspended with the socket open. Only where there is a
   * waitUntil to take it: a promise left pending for nobody would collect one reaction per
   * invocation until the idle close (a leak under steady traffic).
   */
  #keepAliveForIdleClose(waitUntil: WaitUntil): void {
    for (const runtime of this.#runtimes) {
      if (!runtime.socket || runtime.scope !== 'warm') continue
      const closed = runtime.idleClosed()
      if (closed !== undefined) waitUntil(closed)
    }
  }
}

function callWith(fn: AnyFunction, thisArg: unknown, a: unknown, b: unknown, c: unknown): unknown {
  return fn.call(thisArg, a, b, c)
}

function applyWith(fn: AnyFunction, thisArg: unknown, args: unknown[]): unknown {
  return fn.apply(thisArg, args)
}
