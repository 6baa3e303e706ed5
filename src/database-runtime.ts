// One database of a registry at run time: which client a use gets (warm, the owner's request-scoped
// one, or one of its own), leases on it, statements with their retry rules, and the counters and hooks.
// Like kysely's runtime driver: one connect in flight at a time, forgotten when it fails.
import { ClientSlot, type CloseReason, type LeaseKind } from './client-slot.js'
import type { DatabaseConfig } from './database-config.js'
import {
  ClientClosedError,
  type Driver,
  type DriverClient,
  type DriverTransaction,
  type ErrorInfo,
} from './drivers/contract.js'
import { loadDriver, registeredDriver } from './drivers/driver-table.js'
import { type ErrorSource, safeClassify, type Stage, toLazyDbError } from './error-mapping.js'
import { closedError, type LazyDbError } from './errors.js'
import { emit } from './hooks.js'
import type { Invocation } from './invocation.js'
import { defaultIdleTimeoutMs, defaultScope, holdsSocket } from './lifetimes.js'
import { warnNotConnected } from './not-connected-warning.js'
import type { RegistrySettings } from './options.js'
import type { RollbackSession } from './rollback-session.js'
import { connectWithRetry, retryDelay, sleep } from './retries.js'
import type {
  DatabaseStats,
  DriverName,
  Params,
  QueryResult,
  Scope,
  Statement,
  TracedOperation,
  Tracing,
  TransactionOptions,
} from './types.js'
import { warmClientFor, warmKey } from './warm-cache.js'
import { WarmClient } from './warm-client.js'

/** What a database needs from the registry that owns it. */
export interface RuntimeContext {
  readonly settings: RegistrySettings
  /** Who owns work started now: an invocation, the registry while connected, or nobody. */
  currentOwner(): Invocation | undefined
  /** Inside handler() or between connect() and disconnect(). */
  isManaged(): boolean
}

type Operation<T> = (client: DriverClient) => Promise<T>

/** A transaction opened on a held client. */
export interface Begun {
  slot: ClientSlot
  transaction: DriverTransaction
}

export class DatabaseRuntime implements ErrorSource {
  readonly stats: DatabaseStats
  readonly scope: Scope
  readonly socket: boolean
  readonly #config: DatabaseConfig
  readonly #context: RuntimeContext
  readonly #key: string
  readonly #idleTimeoutMs: number
  /** A query hook or tracing is set: statements take the observed path. */
  readonly #observeQueries: boolean
  /** Statements leave the hot path: observed, or diverted to a rollback scope (one check for both). */
  #detour: boolean
  #rollback: RollbackSession | undefined = undefined
  readonly #tracing: Tracing | undefined
  /** Where the database is, for tracing: host, port, name (never credentials). */
  readonly #place: Pick<TracedOperation, 'serverAddress' | 'serverPort' | 'namespace'>
  #driver: Driver | undefined
  #warm: WarmClient | undefined = undefined
  #warned = false

  constructor(config: DatabaseConfig, context: RuntimeContext) {
    this.#context = context
    this.socket = holdsSocket(config.driver, config.url)
    const platform = context.settings.platform
    this.scope = config.scope ?? defaultScope(this.socket, platform)
    this.#config = { ...config, lifetime: { scope: this.scope, platform } }
    this.#idleTimeoutMs = config.idleTimeoutMs ?? context.settings.idleTimeoutMs ?? defaultIdleTimeoutMs(platform)
    this.#tracing = context.settings.tracing
    this.#observeQueries = context.settings.hooks.query !== undefined || this.#tracing !== undefined
    this.#detour = this.#observeQueries
    this.#place = placeOf(config.url)
    this.#key = warmKey(this.#config)
    // Driver options are checked here, without I/O, when the driver is registered; else on first connect.
    this.#driver = registeredDriver(config.driver)
    this.#driver?.validate?.(this.#config)
    this.stats = { driver: config.driver, scope: this.scope, connects: 0, closes: 0, queries: 0, errors: 0, retries: 0 }
  }

  get alias(): string {
    return this.#config.alias
  }

  get driverName(): DriverName {
    return this.#config.driver
  }

  get secrets(): DatabaseConfig['secrets'] {
    return this.#config.secrets
  }

  get isConnected(): boolean {
    if (this.scope === 'warm') return this.#warm !== undefined && !this.#warm.retired && this.#warm.client !== undefined
    return this.#context.currentOwner()?.slots?.get(this)?.client !== undefined
  }

  get tracing(): Tracing | undefined {
    return this.#tracing
  }

  currentOwner(): Invocation | undefined {
    return this.#context.currentOwner()
  }

  /** The rollback scope (test mode) this database's work runs in while one is open (rollback-scope.ts). */
  get rollback(): RollbackSession | undefined {
    return this.#rollback
  }

  set rollback(session: RollbackSession | undefined) {
    this.#rollback = session
    this.#detour = this.#observeQueries || session !== undefined
  }

  // --- Statements -------------------------------------------------------------------------------

  /** The hot path: a warm, live client runs the statement with nothing added but two counters. */
  query(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    if (this.#detour) return this.#detoured(text, params, schema)
    const slot = this.#warm
    if (slot !== undefined && !slot.retired) {
      const client = slot.client
      if (client !== undefined && slot.isFresh(client)) return this.#queryOn(slot, client, text, params, schema)
    }
    return this.#queryLeased(text, params, schema)
  }

  async #queryOn(
    slot: WarmClient,
    client: DriverClient,
    text: string,
    params: Params | undefined,
    schema: string | undefined,
  ): Promise<QueryResult> {
    slot.statements++
    this.stats.queries++
    try {
      return client.toResult(await client.execute(text, params, schema))
    } catch (error) {
      return await this.#recover(error, slot, (fresh) => queryOn(fresh.client!, text, params, schema))
    } finally {
      slot.releaseStatement()
    }
  }

  #queryLeased(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    return this.run((c) => queryOn(c, text, params, schema))
  }

  #detoured(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    const rollback = this.#rollback
    if (rollback === undefined)
      return this.#observedQuery(text, () => this.run((c) => queryOn(c, text, params, schema)))
    const scoped = () => rollback.query(text, params, schema)
    return this.#observeQueries ? this.#observedQuery(text, scoped) : scoped()
  }

  async #observedQuery(text: string, run: () => Promise<QueryResult>): Promise<QueryResult> {
    const started = performance.now()
    const hook = this.#context.settings.hooks.query
    try {
      const result = await this.traced('statement', run, text)
      emit(hook, { database: this.alias, text, durationMs: performance.now() - started })
      return result
    } catch (error) {
      emit(hook, { database: this.alias, text, durationMs: performance.now() - started, error })
      throw error
    }
  }

  batch(statements: readonly Statement[], schema: string | undefined): Promise<QueryResult[]> {
    const rollback = this.#rollback
    const run =
      rollback !== undefined
        ? () => rollback.batch(statements, schema)
        : () => this.run((client) => client.batch(statements, schema), statements.length)
    if (this.#tracing === undefined) return run()
    return this.#tracing.trace({ ...this.#operation('batch', statements[0]?.text), statements: statements.length }, run)
  }

  /** `run` as one traced operation where tracing is set, else `run` itself. */
  traced<T>(kind: TracedOperation['kind'], run: () => Promise<T>, text?: string): Promise<T> {
    const tracing = this.#tracing
    return tracing === undefined ? run() : tracing.trace(this.#operation(kind, text), run)
  }

  #operation(kind: TracedOperation['kind'], text: string | undefined): TracedOperation {
    const operation: TracedOperation = { kind, database: this.alias, driver: this.driverName, ...this.#place }
    if (text !== undefined) operation.text = text
    return operation
  }

  /** Runs one operation on a leased client, with the retry and error rules of a statement. */
  async run<T>(op: Operation<T>, statements = 1): Promise<T> {
    const slot = await this.lease('statement')
    this.stats.queries += statements
    try {
      return await op(slot.client!)
    } catch (error) {
      return await this.#recover(error, slot, (fresh) => op(fresh.client!))
    } finally {
      slot.releaseStatement()
    }
  }

  /**
   * Opens a transaction on a client held for `owner`; the hold is the caller's to release. A BEGIN
   * whose connection could not be made is retried as a statement would be.
   */
  async begin(
    owner: Invocation | undefined,
    options: TransactionOptions | undefined,
    schema: string | undefined,
  ): Promise<Begun> {
    if (this.#rollback !== undefined) return this.#rollback.begin(options, schema)
    const open = async (slot: ClientSlot): Promise<Begun> => ({
      slot,
      transaction: await slot.client!.begin(options, schema),
    })
    const slot = await this.lease('hold', owner)
    try {
      return await open(slot)
    } catch (error) {
      slot.releaseHold()
      return await this.#recover(error, slot, open, owner, 'begin')
    }
  }

  /**
   * A statement whose connection was gone before it was sent runs again on a fresh client, paced by
   * the connect backoff while the failure is transient; one that may have run is never re-run. With
   * `owner` (a transaction's BEGIN) the fresh client is held for it and kept when the retry works.
   */
  async #recover<T>(
    error: unknown,
    slot: ClientSlot,
    op: (slot: ClientSlot) => Promise<T>,
    owner?: Invocation,
    stage: Stage = 'statement',
  ): Promise<T> {
    if (slot.forced) throw this.toError(error, stage, true)
    let info = safeClassify(this, error)
    if (!info.notSent && !info.lostMaybeRun) throw this.toError(error, stage)
    this.#discard(slot)
    if (info.lostMaybeRun) throw this.toError(error, stage)
    const kind: LeaseKind = stage === 'begin' ? 'hold' : 'statement'
    const policy = this.#context.settings.retry
    const started = Date.now()
    let last = error
    for (let attempt = 1; ; attempt++) {
      const delay = info.transient ? retryDelay(attempt, started, policy) : attempt === 1 ? 0 : undefined
      if (delay === undefined) break
      await this.#pause(attempt, delay, info.transient ? 'connect' : 'connection-lost', last)
      const fresh = await this.lease(kind, kind === 'hold' ? owner : this.#context.currentOwner())
      let kept = false
      try {
        const result = await op(fresh)
        kept = kind === 'hold'
        return result
      } catch (retryError) {
        last = retryError
        if (fresh.forced) throw this.toError(retryError, stage, true)
        info = safeClassify(this, retryError)
        if (!info.notSent) break
        this.#discard(fresh)
      } finally {
        if (!kept) fresh.release(kind)
      }
    }
    throw this.toError(last, stage)
  }

  /**
   * A socket client whose connection is gone is replaced. A pool that lost one connection replaces
   * that itself, and an HTTP client holds no connection: both are kept while they say they are alive.
   */
  #discard(slot: ClientSlot): void {
    const client = slot.client
    const alive = client?.isAlive?.() !== false
    if (alive && (client?.pooled === true || !this.socket)) return
    void slot.retire('lost').catch(() => undefined)
  }

  // --- Leases -----------------------------------------------------------------------------------

  /**
   * A slot with a live client and one lease of `kind` taken on it: the warm client, the owner's
   * request-scoped one, or (request scope with no owner) one made for this lease alone.
   */
  async lease(
    kind: LeaseKind,
    currentOwner: Invocation | undefined = this.#context.currentOwner(),
  ): Promise<ClientSlot> {
    // An owner that has ended takes nothing more: what comes after it gets a client of its own.
    const owner = currentOwner?.ended === true ? undefined : currentOwner
    const slot = this.scope === 'warm' ? this.#warmSlot() : this.#requestSlot(owner)
    slot.take(kind)
    try {
      if (slot.client === undefined) await slot.connect(() => this.#connect())
    } catch (error) {
      slot.release(kind)
      throw this.toError(error, 'connect', slot.forced)
    }
    if (slot.forced || slot.client === undefined) {
      slot.release(kind)
      throw this.toError(new ClientClosedError(), 'statement')
    }
    if (this.scope === 'request' && owner === undefined) void slot.retire('request-end').catch(() => undefined)
    return slot
  }

  /** The warm client in use, replaced when dead or idle past its timeout. */
  #warmSlot(): WarmClient {
    let slot = this.#warm
    if (slot === undefined || slot.retired) slot = this.#warm = this.#cachedWarmSlot()
    const client = slot.client
    if (client !== undefined && !slot.isFresh(client)) {
      void slot.retire('stale').catch(() => undefined)
      slot = this.#warm = this.#cachedWarmSlot()
    }
    if (slot.client === undefined) this.#warnIfUnmanaged()
    return slot
  }

  #cachedWarmSlot(): WarmClient {
    return warmClientFor(this.#key, () => new WarmClient(this.#key, this.socket, this.#idleTimeoutMs, this.#closer))
  }

  #requestSlot(owner: Invocation | undefined): ClientSlot {
    if (owner === undefined) {
      this.#warnIfUnmanaged()
      return new ClientSlot(this.#closer)
    }
    const slots = (owner.slots ??= new Map())
    let slot = slots.get(this)
    if (slot === undefined || slot.retired) slots.set(this, (slot = new ClientSlot(this.#closer)))
    return slot
  }

  /** Connects now (registry.connect(), handler's `eager`), for `owner`'s request scope where that applies. */
  async open(owner: Invocation | undefined): Promise<void> {
    const slot = await this.lease('statement', owner)
    slot.releaseStatement()
  }

  /** Retires the warm client (disconnect): closes once its statements end (and `after`), or now with `force`. */
  retireWarm(force: boolean, after?: Promise<unknown>): Promise<void> {
    const slot = this.#warm
    this.#warm = undefined
    if (slot === undefined || (slot.retired && !force)) return Promise.resolve()
    return slot.retire('disconnect', force, after)
  }

  /** For an ending invocation's waitUntil: settles when the warm socket client has closed. */
  idleClosed(): Promise<void> | undefined {
    return this.#warm?.idleClosed()
  }

  // --- Connecting and closing -------------------------------------------------------------------

  async #connect(): Promise<DriverClient> {
    let driver = this.#driver
    if (driver === undefined) {
      driver = await loadDriver(this.#config.driver, this.alias)
      driver.validate?.(this.#config)
      this.#driver = driver
    }
    const started = Date.now()
    const connect = () =>
      connectWithRetry(driver, this.#config, this.#context.settings.retry, {
        classify: (error) => safeClassify(this, error),
        pause: (attempt, delayMs, error) => this.#pause(attempt, delayMs, 'connect', error),
        failed: (error, attempts) => this.toError(error, 'connect', false, attempts),
      })
    const client = await this.traced('connect', connect)
    this.stats.connects++
    const event = { database: this.alias, driver: this.driverName, scope: this.scope, durationMs: Date.now() - started }
    emit(this.#context.settings.hooks.connect, event)
    return client
  }

  readonly #closer = async (client: DriverClient, reason: CloseReason, force: boolean): Promise<void> => {
    this.stats.closes++
    emit(this.#context.settings.hooks.close, { database: this.alias, driver: this.driverName, reason })
    try {
      await client.close(force)
    } catch (error) {
      const wrapped = this.toError(error, 'close')
      if (reason === 'disconnect') throw wrapped
    }
  }

  // --- Errors and reports -----------------------------------------------------------------------

  classify(error: unknown): ErrorInfo {
    return this.#driver?.classify(error) ?? {}
  }

  report(error: LazyDbError): void {
    if (error.code !== 'CLOSED') this.stats.errors++
    emit(this.#context.settings.hooks.error, error)
  }

  toError(error: unknown, stage: Stage, closedUnder = false, attempts = 1): LazyDbError {
    return toLazyDbError(this, error, stage, closedUnder, attempts)
  }

  /** CLOSED for work that needs a client where none may be opened. */
  noClientError(problem: string, fix: string): LazyDbError {
    return closedError(this.alias, problem, fix)
  }

  /** Reports a retry (stats, `on.retry`), then waits its delay, traced as a `retry` where tracing is set. */
  #pause(attempt: number, delayMs: number, reason: 'connect' | 'connection-lost', error: unknown): Promise<void> {
    this.stats.retries++
    this.secrets.maskError(error)
    emit(this.#context.settings.hooks.retry, { database: this.alias, attempt, delayMs, reason, error })
    const wait = () => (delayMs > 0 ? sleep(delayMs) : Promise.resolve())
    if (this.#tracing === undefined) return wait()
    return this.#tracing.trace({ ...this.#operation('retry', undefined), retry: { attempt, delayMs, reason } }, wait)
  }

  #warnIfUnmanaged(): void {
    if (this.#warned || !this.#context.settings.warn || this.#context.isManaged()) return
    this.#warned = true
    warnNotConnected(this.#context.settings.hooks, this.alias, this.scope)
  }
}

async function queryOn(
  client: DriverClient,
  text: string,
  params: Params | undefined,
  schema: string | undefined,
): Promise<QueryResult> {
  return client.toResult(await client.execute(text, params, schema))
}

/** Host, port and database name from a URL, for tracing; nothing for an embedded database or an odd URL. */
function placeOf(url: string): Pick<TracedOperation, 'serverAddress' | 'serverPort' | 'namespace'> {
  if (url === ':memory:' || url.startsWith('file:')) return { namespace: url === ':memory:' ? url : url.slice(5) }
  try {
    const parsed = new URL(url)
    const place: Pick<TracedOperation, 'serverAddress' | 'serverPort' | 'namespace'> = {
      serverAddress: parsed.hostname,
    }
    if (parsed.port !== '') place.serverPort = Number(parsed.port)
    const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
    if (name !== '') place.namespace = name
    return place
  } catch {
    return {}
  }
}
