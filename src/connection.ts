import type { NormalizedDatabase } from './config.js'
import type { Driver, DriverClient, ErrorInfo } from './drivers/driver.js'
import { loadDriver, registeredDriver } from './drivers/load.js'
import { LazyDbError, type LazyDbErrorCode } from './errors.js'
import type { Invocation } from './invocation.js'
import type { PlatformName } from './platform.js'
import { redactError, redactText } from './redact.js'
import { defaultScope, holdsSocket } from './transport.js'
import type { CloseEvent, DatabaseStats, Hooks, Params, QueryResult, RetryOptions, Scope } from './types.js'
import { warmEntry, type WarmEntry, warmKey } from './warm-cache.js'

/** What a connection needs from the registry that owns it. */
export interface ConnectionContext {
  readonly hooks: Hooks
  readonly retry: Required<RetryOptions>
  readonly platform: PlatformName
  readonly warn: boolean
  readonly idleTimeoutMs: number
  /** The invocation to scope request clients to: the handler's, or the registry's while connected. */
  currentInvocation(): Invocation | undefined
  /** Inside handler() or between connect() and disconnect(). */
  isManaged(): boolean
}

/** A client borrowed for one operation; `release` closes it when it was made for that operation only. */
export interface Lease {
  client: DriverClient
  release(): Promise<void>
}

const NOOP_RELEASE = async (): Promise<void> => {}
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * One database's connection lifecycle: lazy single-flight connect, warm reuse or request scope,
 * stale and idle replacement, retries, and errors with every secret masked.
 */
export class Connection {
  readonly stats: DatabaseStats
  readonly socket: boolean
  readonly scope: Scope
  readonly #key: string
  #driver: Driver | undefined = undefined
  #entry: WarmEntry | undefined = undefined
  #warned = false

  constructor(
    readonly config: NormalizedDatabase,
    readonly ctx: ConnectionContext,
  ) {
    this.socket = holdsSocket(config.driver, config.url)
    this.scope = config.scope ?? defaultScope(this.socket, ctx.platform)
    this.#key = warmKey(config)
    // Driver options are checked here, without I/O, when the driver is registered; else on first connect.
    this.#driver = registeredDriver(config.driver)
    this.#driver?.validate?.(config)
    this.stats = { driver: config.driver, scope: this.scope, connects: 0, closes: 0, queries: 0, errors: 0, retries: 0 }
  }

  get alias(): string {
    return this.config.alias
  }

  get idleTimeoutMs(): number {
    return this.config.idleTimeoutMs ?? this.ctx.idleTimeoutMs
  }

  get isConnected(): boolean {
    if (this.scope === 'warm') return this.#entry?.client !== undefined && !this.#entry.closed
    return this.ctx.currentInvocation()?.clients?.has(this) ?? false
  }

  /** The hot path: a warm, live client runs the statement with nothing added but a counter. */
  async query(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    if (this.ctx.hooks.query !== undefined) return this.#observedQuery(text, params, schema)
    const entry = this.#entry
    let client = entry?.client
    if (client === undefined || (this.socket && !this.#stillFresh(entry!))) {
      if (this.scope === 'request' && this.ctx.currentInvocation() === undefined) {
        return this.#oneShot((c) => queryOn(c, text, params, schema))
      }
      client = await this.#acquire()
    }
    this.stats.queries++
    const held = this.#hold()
    try {
      return client.toResult(await client.execute(text, params, schema))
    } catch (error) {
      return this.#recover(error, client, (c) => queryOn(c, text, params, schema))
    } finally {
      if (held !== undefined) unhold(held)
    }
  }

  /** Marks the warm socket client busy (socket and warm only: nothing else is idle-closed). */
  #hold(): WarmEntry | undefined {
    if (!this.socket || this.scope !== 'warm') return undefined
    const entry = this.#entry
    if (entry !== undefined) entry.busy++
    return entry
  }

  async #observedQuery(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    const started = performance.now()
    const hook = this.ctx.hooks.query!
    try {
      const result = await this.run((c) => queryOn(c, text, params, schema))
      safely(() => hook({ database: this.alias, text, durationMs: performance.now() - started }))
      return result
    } catch (error) {
      safely(() => hook({ database: this.alias, text, durationMs: performance.now() - started, error }))
      throw error
    }
  }

  /** Runs one operation on this database's client, with the same retry and error rules as `query`. */
  async run<T>(op: (client: DriverClient) => Promise<T>): Promise<T> {
    const lease = await this.lease(true)
    this.stats.queries++
    try {
      return await op(lease.client)
    } catch (error) {
      return await this.#recover(error, lease.client, op)
    } finally {
      await lease.release()
    }
  }

  /**
   * A client for an operation that spans calls (a transaction, `client()`). With `hold`, a warm
   * socket client stays busy (not idle-closed) until `release`.
   */
  async lease(hold = false): Promise<Lease> {
    if (this.scope === 'request' && this.ctx.currentInvocation() === undefined) {
      this.#warnUnmanaged()
      const client = await this.#connect()
      return { client, release: () => this.#close(client, 'request-end') }
    }
    const client = await this.#acquire()
    const held = hold ? this.#hold() : undefined
    return { client, release: held === undefined ? NOOP_RELEASE : () => (unhold(held), Promise.resolve()) }
  }

  /** Connects now (registry.connect, handler's `eager`). */
  async open(): Promise<void> {
    await this.#acquire()
  }

  #acquire(): Promise<DriverClient> {
    if (this.scope === 'warm') return this.#acquireWarm()
    const invocation = this.ctx.currentInvocation()
    if (invocation === undefined) throw new LazyDbError('CLOSED', `database "${this.alias}" has no invocation to scope a request connection to`, { database: this.alias })
    const clients = (invocation.clients ??= new Map())
    let pending = clients.get(this)
    if (pending === undefined) {
      pending = this.#connect()
      clients.set(this, pending)
      pending.catch(() => {
        if (clients.get(this) === pending) clients.delete(this)
      })
    }
    return pending
  }

  #acquireWarm(): Promise<DriverClient> {
    let entry = this.#entry
    if (entry === undefined || entry.closed) entry = this.#entry = warmEntry(this.#key)
    const client = entry.client
    if (client !== undefined) {
      if (!this.socket || this.#stillFresh(entry)) return Promise.resolve(client)
      this.#retire(entry, 'stale')
      entry = this.#entry = warmEntry(this.#key)
    }
    if (entry.pending !== undefined) return entry.pending
    this.#warnUnmanaged()
    const target = entry
    const pending = this.#connect().then(
      (created) => {
        target.pending = undefined
        if (target.closed) {
          void this.#close(created, 'disconnect')
          throw new LazyDbError('CLOSED', `database "${this.alias}" was disconnected while it connected`, { database: this.alias })
        }
        target.client = created
        target.lastUsed = Date.now()
        if (this.socket) this.#armIdleTimer(target)
        return created
      },
      (error: unknown) => {
        target.pending = undefined
        throw error
      },
    )
    target.pending = pending
    return pending
  }

  /** A warm socket client is reused only while alive and not idle past the timeout (a freeze stops timers). */
  #stillFresh(entry: WarmEntry): boolean {
    const now = Date.now()
    if (entry.client?.isAlive?.() === false || (entry.busy === 0 && now - entry.lastUsed > this.idleTimeoutMs)) return false
    entry.lastUsed = now
    return true
  }

  #armIdleTimer(entry: WarmEntry): void {
    const timeout = this.idleTimeoutMs
    const check = () => {
      entry.timer = undefined
      if (entry.closed || entry.client === undefined) return
      const idleFor = entry.busy > 0 ? 0 : Date.now() - entry.lastUsed
      if (idleFor >= timeout) this.#retire(entry, 'idle')
      else {
        entry.timer = setTimeout(check, timeout - idleFor)
        unref(entry.timer)
      }
    }
    entry.timer = setTimeout(check, timeout)
    unref(entry.timer)
  }

  /**
   * For the ending invocation's waitUntil: resolves when this database's warm socket client has
   * closed; undefined if none. Each call takes over from the previous one, which resolves at once:
   * the latest invocation keeps the instance alive until the idle close, and no promise handed to
   * an earlier one stays pending (the platform would keep that invocation's state until then).
   */
  idleClosed(): Promise<void> | undefined {
    const entry = this.#entry
    if (!this.socket || this.scope !== 'warm' || entry === undefined || entry.client === undefined || entry.closed) return undefined
    entry.idle?.resolve()
    return (entry.idle = deferred()).promise
  }

  #retire(entry: WarmEntry, reason: CloseEvent['reason']): Promise<void> {
    entry.closed = true
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    entry.retire()
    const client = entry.client
    entry.client = undefined
    const closing = client === undefined ? Promise.resolve() : this.#close(client, reason)
    return closing.finally(() => entry.idle?.resolve())
  }

  /** Closes the warm client; `pending` connects are told to close what they make. */
  async closeWarm(): Promise<void> {
    const entry = this.#entry
    this.#entry = undefined
    if (entry === undefined || entry.closed) return
    const pending = entry.pending
    await this.#retire(entry, 'disconnect')
    if (pending !== undefined) await pending.catch(() => undefined)
  }

  /** Closes a request client of an ended invocation. */
  async closeScoped(pending: Promise<DriverClient>): Promise<void> {
    let client: DriverClient
    try {
      client = await pending
    } catch {
      return
    }
    await this.#close(client, 'request-end')
  }

  async #close(client: DriverClient, reason: CloseEvent['reason']): Promise<void> {
    this.stats.closes++
    safely(() => this.ctx.hooks.close?.({ database: this.alias, driver: this.config.driver, reason }))
    try {
      await client.close()
    } catch (error) {
      if (reason === 'disconnect') throw this.#wrap('CLOSED', error, {})
    }
  }

  async #oneShot<T>(op: (client: DriverClient) => Promise<T>): Promise<T> {
    this.#warnUnmanaged()
    const client = await this.#connect()
    this.stats.queries++
    try {
      return await op(client)
    } catch (error) {
      throw this.#fail(error, this.#classify(error))
    } finally {
      await this.#close(client, 'request-end')
    }
  }

  async #connect(): Promise<DriverClient> {
    let driver = this.#driver
    if (driver === undefined) {
      driver = await loadDriver(this.config.driver, this.alias)
      driver.validate?.(this.config)
      this.#driver = driver
    }
    const { attempts, totalMs } = this.ctx.retry
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      try {
        const client = await driver.connect(this.config)
        this.stats.connects++
        safely(() =>
          this.ctx.hooks.connect?.({ database: this.alias, driver: this.config.driver, scope: this.scope, durationMs: Date.now() - started }),
        )
        return client
      } catch (error) {
        if (error instanceof LazyDbError) throw error
        const info = this.#classify(error)
        const delay = this.#backoff(attempt)
        if (!info.transient || attempt >= attempts || Date.now() - started + delay > totalMs) {
          const tries = attempt === 1 ? '' : ` after ${attempt} attempts`
          throw this.#wrap('CONNECT_FAILED', error, info, `could not connect${tries}`)
        }
        this.#noteRetry(attempt, delay, 'connect', error)
        await sleep(delay)
      }
    }
  }

  /** A statement whose connection was gone before it was sent runs again on a fresh connection. */
  async #recover<T>(error: unknown, client: DriverClient, op: (client: DriverClient) => Promise<T>): Promise<T> {
    let info = this.#classify(error)
    if (!info.notSent && !info.lostMaybeRun) throw this.#fail(error, info)
    this.#discard(client)
    if (info.lostMaybeRun) throw this.#fail(error, info)
    const { attempts, totalMs } = this.ctx.retry
    const started = Date.now()
    let last = error
    for (let attempt = 1; attempt < (info.transient ? attempts : 2); attempt++) {
      const delay = info.transient ? this.#backoff(attempt) : 0
      if (Date.now() - started + delay > totalMs) break
      this.#noteRetry(attempt, delay, info.transient ? 'connect' : 'connection-lost', last)
      if (delay > 0) await sleep(delay)
      const fresh = await this.#acquire()
      try {
        return await op(fresh)
      } catch (retryError) {
        last = retryError
        info = this.#classify(retryError)
        if (!info.notSent) break
        this.#discard(fresh)
      }
    }
    throw this.#fail(last, info)
  }

  #discard(client: DriverClient): void {
    const entry = this.#entry
    if (entry !== undefined && entry.client === client) {
      void this.#retire(entry, 'lost').catch(() => undefined)
      return
    }
    const invocation = this.ctx.currentInvocation()
    const pending = invocation?.clients?.get(this)
    if (pending !== undefined) {
      invocation!.clients!.delete(this)
      void this.closeScoped(pending)
    }
  }

  #noteRetry(attempt: number, delayMs: number, reason: 'connect' | 'connection-lost', error: unknown): void {
    this.stats.retries++
    redactError(error, this.config.secrets)
    safely(() => this.ctx.hooks.retry?.({ database: this.alias, attempt, delayMs, reason, error }))
  }

  #backoff(attempt: number): number {
    const { baseDelayMs, maxDelayMs } = this.ctx.retry
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1))
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
  }

  #classify(error: unknown): ErrorInfo {
    try {
      return this.#driver?.classify(error) ?? {}
    } catch {
      return {}
    }
  }

  /** Turns a driver error into the LazyDbError a caller sees, and counts it. */
  #fail(error: unknown, info: ErrorInfo): LazyDbError {
    if (error instanceof LazyDbError) return error
    if (info.auth) return this.#wrap('CONNECT_FAILED', error, info, 'could not connect')
    if (info.notSent) return this.#wrap('CONNECT_FAILED', error, info, 'could not reach the server; the statement did not run', false)
    if (info.lostMaybeRun) return this.#wrap('CONNECTION_LOST', error, { ...info }, 'the connection broke while the statement ran; it may have run, so it was not retried', true)
    return this.#wrap('QUERY_FAILED', error, info)
  }

  #wrap(code: LazyDbErrorCode, error: unknown, info: ErrorInfo, lead?: string, mayHaveRun?: boolean): LazyDbError {
    const secrets = this.config.secrets
    redactError(error, secrets)
    const text = redactText(String((error as Error | undefined)?.message ?? error), secrets)
    const message = `database "${this.alias}" (${this.config.driver}): ${lead === undefined ? text : `${lead}: ${text}`}`
    const wrapped = new LazyDbError(code, message, {
      database: this.alias,
      cause: error,
      sqlState: info.sqlState,
      errno: info.errno,
      constraint: info.constraint,
      detail: info.detail === undefined ? undefined : redactText(info.detail, secrets),
      mayHaveRun: mayHaveRun ?? (code === 'QUERY_FAILED' ? true : undefined),
    })
    if (code !== 'CLOSED') this.stats.errors++
    safely(() => this.ctx.hooks.error?.(wrapped))
    return wrapped
  }

  /** Wraps an error from outside the query path (transaction commit, batch) with this database's rules. */
  fail(error: unknown): LazyDbError {
    return this.#fail(error, this.#classify(error))
  }

  #warnUnmanaged(): void {
    if (this.#warned || !this.ctx.warn || this.ctx.isManaged()) return
    this.#warned = true
    const perOperation = this.scope === 'request'
    const message = perOperation
      ? `database "${this.alias}" was used outside handler() and without registry.connect(); it is request-scoped here, so every operation opens and closes its own connection (slow). Wrap the function with handler(registry, fn) or call registry.connect() first.`
      : `database "${this.alias}" was used outside handler() and without registry.connect(); lazydb connected it lazily and will keep it for reuse. Wrap the function with handler(registry, fn) or call registry.connect() first to silence this (or pass warn: false).`
    const event = { code: 'NOT_CONNECTED' as const, message, database: this.alias }
    if (this.ctx.hooks.warning !== undefined) safely(() => this.ctx.hooks.warning!(event))
    else console.warn(`[lazydb] NOT_CONNECTED: ${message}`)
  }
}

async function queryOn(client: DriverClient, text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
  return client.toResult(await client.execute(text, params, schema))
}

function unref(timer: unknown): void {
  ;(timer as { unref?: () => void }).unref?.()
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

/** A hook that throws must not break the operation it observes. */
function safely(call: () => void): void {
  try {
    call()
  } catch {}
}

/** Ends one busy use of a warm client; idle time counts from here. */
function unhold(entry: WarmEntry): void {
  entry.busy--
  entry.lastUsed = Date.now()
}
