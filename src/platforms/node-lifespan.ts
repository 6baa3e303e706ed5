// A long-running Node server's database lifespan: connect every database at start, and on a signal stop
// accepting, drain the invocations in flight, roll back what is still open, disconnect, and exit.
import { argumentError, describeValue, isOptionsObject } from '../errors.js'
import { isTimerMs } from '../options.js'
import { lifecycleOf, Registry } from '../registry.js'

/**
 * What lifespan stops: a `node:http` server (Express's `app.listen()`, `@hono/node-server`'s `serve()`, …), or
 * a Fastify app (its `close()` runs its own shutdown; its `server` is the `node:http` one).
 */
export interface ClosableServer {
  close(callback?: (error?: Error) => void): unknown
  closeIdleConnections?(): void
  closeAllConnections?(): void
  /** Fastify's underlying `node:http` server, whose sockets lifespan closes. */
  server?: { closeIdleConnections?(): void; closeAllConnections?(): void }
}

export interface LifespanOptions {
  /** Stops accepting connections when the lifespan closes; its idle keep-alive sockets are closed too. */
  server?: ClosableServer
  /** Signals that close the lifespan and then let the process exit (default SIGTERM, SIGINT); `[]` for none. */
  signals?: readonly NodeJS.Signals[]
  /** How long in-flight invocations (and requests) may take to finish before they are forced (default 10 000). */
  drainMs?: number
}

export interface LifespanOutcome {
  /** Every invocation in flight finished within `drainMs`; false when the rest was rolled back and closed. */
  drained: boolean
}

export interface Lifespan {
  /** Settles once every database is connected; rejects with `CONNECT_FAILED` naming the aliases that failed. */
  readonly ready: Promise<void>
  /**
   * Stops the server, drains, disconnects. Called again, it returns the same promise; `{ force: true }` ends the
   * drain at once. Rejects when the disconnect failed.
   */
  close(options?: { force?: boolean }): Promise<LifespanOutcome>
}

const DEFAULT_DRAIN_MS = 10_000
/** After a signal's close, how long anything else (a timer, an open socket) may keep the process alive. */
const EXIT_GRACE_MS = 1_000
/** A second signal: how long the forced close may take before the process exits anyway. */
const FORCE_EXIT_MS = 1_000
const IDLE_SWEEP_MS = 50

const lifespans = new WeakMap<Registry, Lifespan>()

/**
 * Connects every database of `registry` now and, on SIGTERM or SIGINT, shuts down in order: the server stops
 * accepting (idle keep-alive sockets close), invocations in flight get `drainMs` to finish, what is still open
 * is rolled back, the registry disconnects, and the process exits: code 0 after a clean drain, 1 when the drain
 * ran out of time or the disconnect failed. A second signal forces: everything closes at once and the process
 * exits with code 1. Called again for the same registry, it returns the same lifespan.
 * @example
 * import { lifespan } from '@lazydb/core/node'
 * const server = app.listen(3000)
 * await lifespan(registry, { server }).ready
 */
export function lifespan(registry: Registry, options: LifespanOptions = {}): Lifespan {
  const { server, signals, drainMs } = checkLifespanArguments(registry, options)
  const existing = lifespans.get(registry)
  if (existing !== undefined) return existing
  let closing: Promise<LifespanOutcome> | undefined
  let forceNow: (() => void) | undefined
  let forced = false
  const ready = registry.connect()
  const settledReady = ready.catch(() => undefined)

  const close = ({ force = false } = {}): Promise<LifespanOutcome> => {
    if (force) {
      forced = true
      forceNow?.()
    }
    closing ??= (async () => {
      const stopped = server === undefined ? Promise.resolve() : stopAccepting(server)
      await settledReady
      const drainedInTime = await new Promise<boolean>((resolve) => {
        if (forced) return resolve(false)
        const timer = setTimeout(resolve, drainMs, false)
        forceNow = () => {
          clearTimeout(timer)
          resolve(false)
        }
        Promise.all([lifecycleOf(registry).whenIdle(), stopped]).then(() => {
          clearTimeout(timer)
          resolve(!forced)
        })
      })
      try {
        // Forced: the invocations still running end now (their transactions roll back, their work gets CLOSED).
        await registry.disconnect({ force: !drainedInTime })
      } finally {
        if (!drainedInTime) sockets(server)?.closeAllConnections?.()
        removeListeners()
        lifespans.delete(registry)
      }
      return { drained: drainedInTime }
    })()
    return closing
  }

  const onSignal = () => {
    if (closing === undefined) {
      close().then(
        ({ drained }) => exitSoon(drained ? 0 : 1),
        () => exitSoon(1),
      )
      return
    }
    const exit = () => process.exit(1)
    close({ force: true }).then(exit, exit)
    setTimeout(exit, FORCE_EXIT_MS).unref()
  }
  const removeListeners = () => {
    for (const signal of signals) process.removeListener(signal, onSignal)
  }
  for (const signal of signals) process.on(signal, onSignal)

  const handle: Lifespan = { ready, close }
  lifespans.set(registry, handle)
  return handle
}

/** `server.close()`, settled when every connection has ended; idle keep-alive sockets are closed as they appear. */
function stopAccepting(server: ClosableServer): Promise<void> {
  return new Promise((resolve) => {
    const http = sockets(server)
    const sweep = setInterval(() => http?.closeIdleConnections?.(), IDLE_SWEEP_MS)
    sweep.unref?.()
    const done = () => {
      clearInterval(sweep)
      resolve()
    }
    try {
      server.close(done) // called with ERR_SERVER_NOT_RUNNING when it was not listening: nothing to wait for
      http?.closeIdleConnections?.()
    } catch {
      done()
    }
  })
}

/** Whose sockets to close: the server's own, or the `node:http` server under a Fastify app. */
function sockets(server: ClosableServer | undefined): ClosableServer['server'] {
  if (server === undefined) return undefined
  return typeof server.closeIdleConnections === 'function' ? server : server.server
}

/** Lets the process exit with `code`; anything still keeping it alive after a grace period is cut short. */
function exitSoon(code: number): void {
  if (code !== 0 || process.exitCode === undefined) process.exitCode = code
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref()
}

function checkLifespanArguments(
  registry: unknown,
  options: unknown,
): { server: ClosableServer | undefined; signals: readonly NodeJS.Signals[]; drainMs: number } {
  const fail = (problem: string, fix: string) => argumentError('lifespan', problem, fix)
  if (!(registry instanceof Registry)) {
    throw fail(`the first argument must be a Registry (got ${describeValue(registry)})`, 'Pass your Registry')
  }
  if (!isOptionsObject(options)) {
    throw fail(`options must be an object (got ${describeValue(options)})`, 'Pass { server?, signals?, drainMs? }')
  }
  const { server, signals = ['SIGTERM', 'SIGINT'], drainMs = DEFAULT_DRAIN_MS } = options
  if (server !== undefined && typeof (server as ClosableServer | null)?.close !== 'function') {
    throw fail(`server must have a close() method (got ${describeValue(server)})`, 'Pass the node:http Server')
  }
  if (!Array.isArray(signals) || !signals.every((s) => typeof s === 'string' && /^SIG[A-Z0-9]+$/.test(s))) {
    throw fail('signals must be an array of signal names', "Pass e.g. ['SIGTERM', 'SIGINT'], or [] for none")
  }
  if (!isTimerMs(drainMs)) {
    throw fail(`drainMs must be a number of milliseconds (got ${describeValue(drainMs)})`, 'Pass e.g. 10_000')
  }
  return { server: server as ClosableServer | undefined, signals: signals as NodeJS.Signals[], drainMs }
}
