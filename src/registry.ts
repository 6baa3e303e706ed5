import { checkAlias, type DatabaseOptions } from './config.js'
import { Connection, type ConnectionContext } from './connection.js'
import { Database, type DatabaseOwner } from './database.js'
import { argumentError, configError, describeValue, isOptionsObject, LazyDbError, quoted } from './errors.js'
import { Invocation } from './invocation.js'
import { createContextStorage, detectPlatform, findWaitUntil, type ContextStorage, type PlatformName, type WaitUntil } from './platform.js'
import type { Hooks, RegistryStats, RetryOptions } from './types.js'

/** A database slot: a URL, `{ url, driver?, scope?, …driverOptions }`, or a `Database` from a factory. */
export type DatabaseInput = string | DatabaseOptions | Database

export interface RegistryOptions {
  /** The default database. */
  database: DatabaseInput
  /** Named extra databases, reached with `registry.using(name)`. An undefined value is skipped. */
  extra?: Record<string, DatabaseInput | undefined>
  /** Lifecycle hooks. Each is optional; a hook that throws is ignored. */
  on?: Hooks
  /** `false` turns the NOT_CONNECTED warning off. */
  warn?: boolean
  /** Close a warm socket connection idle this long (default 60 000 ms); per database with `idleTimeoutMs`. */
  idleTimeoutMs?: number
  /** Connect retries for transient failures. */
  retry?: RetryOptions
  /** Overrides runtime detection, which picks the default lifetimes. */
  platform?: PlatformName
}

export interface DisconnectOptions {
  /** Close now, whatever the connect() count, including clients of invocations still running. */
  force?: boolean
}

export interface UsingOptions {
  /** Postgres `search_path` or MySQL database for the statements run through the returned view. */
  schema?: string
}

// 10 attempts: with these delays (25-50, 50-100, … ms, capped at 1 s) totalMs, not the count, ends a long outage.
const DEFAULT_RETRY: Required<RetryOptions> = { attempts: 10, baseDelayMs: 50, maxDelayMs: 1000, totalMs: 5000 }
const PLATFORMS: readonly PlatformName[] = ['cloudflare', 'vercel-edge', 'vercel-node', 'aws-lambda', 'netlify', 'node', 'unknown']
const HOOKS = ['connect', 'close', 'query', 'retry', 'warning', 'error']
const COLD = Symbol.for('lazydb.cold-start-seen')
const FROM_ENV = Symbol.for('lazydb.from-env@2')
const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose')
const g = globalThis as Record<symbol, unknown>
let coldSeen = false
const envCache = (g[FROM_ENV] as Map<string, Registry> | undefined) ?? new Map<string, Registry>()
g[FROM_ENV] = envCache

/**
 * The databases of a function: a default one and named extras. Nothing connects at construction
 * (config is checked at once, without I/O); the first query connects, once.
 *
 * @example
 * export const registry = new Registry({
 *   database: process.env.DATABASE_URL ?? 'file:.data/app.db',
 *   extra: { analytics: process.env.ANALYTICS_URL },
 * })
 * const { rows } = await registry.database.sql`select * from users where id = ${id}`
 */
export class Registry implements DatabaseOwner {
  /** The default database. */
  readonly database: Database
  /** The named extra databases. */
  readonly extra: Readonly<Record<string, Database>>
  readonly #databases: Database[] = []
  readonly #connections: Connection[] = []
  readonly #context: ConnectionContext
  readonly #storage: ContextStorage<Invocation> | undefined
  #ambient: Invocation | undefined = undefined
  /** Some database keeps a socket open across invocations (idle close, waitUntil). */
  readonly #warmSockets: boolean
  #connectCount = 0
  #inFlight = 0
  #total = 0
  #cold = 0

  constructor(options: RegistryOptions) {
    if (!isOptionsObject(options)) {
      throw configError(undefined, `new Registry() expects an options object (got ${describeValue(options)})`, "Pass { database: process.env.DATABASE_URL ?? 'file:.data/app.db' }")
    }
    const context = registryContext(options, this)
    this.#context = context
    this.database = this.#adopt('default', options.database)
    const extra: Record<string, Database> = {}
    if (options.extra !== undefined) {
      if (!isOptionsObject(options.extra)) {
        throw configError(undefined, `extra must be an object of named databases (got ${describeValue(options.extra)})`, 'Pass { extra: { analytics: process.env.ANALYTICS_URL } }')
      }
      for (const [name, input] of Object.entries(options.extra)) {
        checkAlias(name)
        if (input === undefined) continue
        extra[name] = this.#adopt(name, input)
      }
    }
    this.extra = Object.freeze(extra)
    // AsyncLocalStorage costs every promise something on Node 20, so only request scope turns it on.
    this.#storage = this.#connections.some((c) => c.scope === 'request') ? createContextStorage<Invocation>() : undefined
    this.#warmSockets = this.#connections.some((c) => c.socket && c.scope === 'warm')
  }

  /**
   * A registry from environment variables: `DATABASE_URL` is the default database and
   * `DATABASE_URL_<NAME>` the extra `<name>` (lower-cased). Equal values give back the same
   * registry, so building one per request (Cloudflare's `env`) costs nothing after the first.
   * @example export default withRegistry((env) => Registry.fromEnv(env), { fetch })
   */
  static fromEnv(env?: Record<string, unknown>, options: Omit<RegistryOptions, 'database' | 'extra'> = {}): Registry {
    const source = env ?? (globalThis as { process?: { env?: Record<string, unknown> } }).process?.env
    if (typeof source !== 'object' || source === null) {
      throw configError(undefined, 'Registry.fromEnv() found no environment', 'Pass the env object your platform gives you: Registry.fromEnv(env)')
    }
    if (!isOptionsObject(options)) {
      throw configError(undefined, `Registry.fromEnv() options must be an object (got ${describeValue(options)})`, 'Pass Registry.fromEnv(env, { warn: false }) or leave them out')
    }
    const found: [string, string][] = []
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined || !/^DATABASE_URL(_[A-Z0-9_]+)?$/.test(key)) continue
      if (typeof value !== 'string') {
        const alias = key === 'DATABASE_URL' ? 'default' : key.slice('DATABASE_URL_'.length).toLowerCase()
        throw configError(alias, `${key} must be a URL string (got ${describeValue(value)})`, `Set ${key} to the connection URL (file:…, postgres://…, mysql://…), or remove it`)
      }
      found.push([key, value])
    }
    found.sort((a, b) => (a[0] < b[0] ? -1 : 1))
    let cacheKey: string
    try {
      cacheKey = JSON.stringify([found, options])
    } catch (error) {
      throw configError(undefined, `Registry.fromEnv() options must be plain data besides the hooks (${(error as Error).message})`, 'Pass numbers, strings and booleans, e.g. { retry: { attempts: 3 } }')
    }
    const cached = envCache.get(cacheKey)
    if (cached !== undefined) return cached
    const main = found.find(([key]) => key === 'DATABASE_URL')
    if (main === undefined) throw configError('default', 'DATABASE_URL is not set', 'Set DATABASE_URL (e.g. file:.data/app.db, postgres://…, mysql://…)')
    const extra: Record<string, string> = {}
    for (const [key, value] of found) if (key !== 'DATABASE_URL') extra[key.slice('DATABASE_URL_'.length).toLowerCase()] = value
    const registry = new Registry({ ...options, database: main[1], extra })
    envCache.set(cacheKey, registry)
    return registry
  }

  #adopt(alias: string, input: DatabaseInput): Database {
    const database = input instanceof Database ? input : new Database(input, alias)
    const connection = new Connection({ ...database.settings, alias }, this.#context)
    database.attach(alias, connection, this)
    this.#databases.push(database)
    this.#connections.push(connection)
    return database
  }

  /**
   * The named database (the default when `name` is undefined), optionally bound to a schema.
   * @example await registry.using('analytics').query('insert into hits(path) values (?)', [path])
   * @example await registry.using(undefined, { schema: 'tenant_42' }).sql`select * from orders`
   */
  using(name?: string, options?: UsingOptions): Database {
    let database: Database | undefined
    if (name === undefined || name === 'default') database = this.database
    else if (typeof name !== 'string' || name === '') throw argumentError('using', `the name must be a non-empty string (got ${describeValue(name)})`, 'Call using() for the default database or using("name") for an extra one')
    else database = Object.hasOwn(this.extra, name) ? this.extra[name] : undefined
    if (database === undefined) {
      const known = ['default', ...Object.keys(this.extra)].map((n) => `"${n}"`).join(', ')
      throw new LazyDbError('UNKNOWN_DATABASE', `no database named "${name}". Known names: ${known}. Add it under extra (or DATABASE_URL_${String(name).toUpperCase()})`, { database: name })
    }
    if (options === undefined) return database
    if (typeof options !== 'object' || options === null) throw argumentError('using', `options must be an object (got ${describeValue(options)})`, "Pass { schema: 'name' } or nothing", name)
    return database.withSchema(options.schema)
  }

  /**
   * Connects every database now and holds them until the matching `disconnect()` (reference
   * counted). If one fails, those that connected are closed again and the error names every
   * failed alias.
   * @example await registry.connect(); try { await work() } finally { await registry.disconnect() }
   */
  async connect(): Promise<void> {
    this.#connectCount++
    if (this.#connectCount > 1) return
    this.#ambient ??= new Invocation()
    const results = await Promise.allSettled(this.#connections.map((c) => this.#inAmbient(c)))
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [[this.#connections[i]!.alias, r.reason] as const] : []))
    if (failed.length === 0) return
    this.#connectCount--
    await this.#closeAll(false).catch(() => undefined)
    const names = failed.map(([alias]) => `"${alias}"`).join(', ')
    const detail = failed.map(([alias, reason]) => `${alias}: ${(reason as Error)?.message ?? String(reason)}`).join('; ')
    throw new LazyDbError('CONNECT_FAILED', `could not connect ${names} (the others were disconnected again). ${detail}`, {
      database: failed.length === 1 ? failed[0]![0] : undefined,
      cause: failed.length === 1 ? failed[0]![1] : new AggregateError(failed.map(([, reason]) => reason)),
    })
  }

  #inAmbient(connection: Connection): Promise<void> {
    if (connection.scope === 'warm' || this.#storage === undefined) return connection.open()
    return this.#storage.run(this.#ambient!, () => connection.open())
  }

  /**
   * Releases one `connect()`; the last one (or `force`) closes every driver client. A database used
   * afterwards connects again lazily, so a later invocation in the same process still works.
   */
  async disconnect(options?: DisconnectOptions): Promise<void> {
    if (options !== undefined) checkDisconnectOptions(options)
    if (options?.force === true) this.#connectCount = 0
    else if (this.#connectCount > 0 && --this.#connectCount > 0) return
    await this.#closeAll(options?.force === true)
  }

  async #closeAll(force: boolean): Promise<void> {
    const ambient = this.#ambient
    const closing: Promise<void>[] = this.#connections.map((c) => c.closeWarm())
    if (ambient !== undefined && (force || this.#inFlight === 0)) {
      this.#ambient = undefined
      closing.push(this.#end(ambient))
    }
    const results = await Promise.allSettled(closing)
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    if (failures.length > 0) {
      const names = failures.map((f) => (f as LazyDbError).database ?? '?').join(', ')
      throw new LazyDbError('CLOSED', `disconnect finished, but closing failed for: ${names}`, { cause: new AggregateError(failures) })
    }
  }

  /** Calls `[Symbol.asyncDispose]` → `disconnect()`, for `await using registry = …`. */
  async [asyncDispose](): Promise<void> {
    await this.disconnect()
  }

  /** Counters since the process started: invocations (cold ones too) and per-database activity. */
  stats(): RegistryStats {
    const databases: RegistryStats['databases'] = {}
    for (const connection of this.#connections) databases[connection.alias] = { ...connection.stats }
    return { platform: this.#context.platform, invocations: { total: this.#total, cold: this.#cold }, databases }
  }

  /** @internal Inside handler() or between connect() and disconnect(). */
  isManaged(): boolean {
    return this.#inFlight > 0 || this.#connectCount > 0
  }

  /** @internal */
  trackingInvocation(): Invocation | undefined {
    const store = this.#storage?.getStore()
    // Work an invocation left running after it ended gets per-operation connections, never a leak.
    if (store !== undefined) return store.ended ? undefined : store
    return this.#ambient
  }

  /** @internal Starts an invocation; `handler()` calls it. */
  enter(): Invocation | undefined {
    this.#total++
    if (!coldSeen) {
      // Shared through globalThis so a second copy of lazydb in the process doesn't count again.
      coldSeen = g[COLD] === true
      if (!coldSeen) {
        g[COLD] = coldSeen = true
        this.#cold++
      }
    }
    this.#inFlight++
    if (this.#storage !== undefined) return new Invocation()
    this.#ambient ??= new Invocation()
    return undefined
  }

  /** @internal Runs `fn` inside the invocation's context, where there is one. */
  run<R>(invocation: Invocation | undefined, fn: (...args: unknown[]) => R, thisArg: unknown, a: unknown, b: unknown, c: unknown): R {
    if (invocation === undefined) return fn.call(thisArg, a, b, c)
    return this.#storage!.run(invocation, callWith, fn, thisArg, a, b, c) as R
  }

  /** @internal Connects every database now (handler's `eager`). */
  async openAll(): Promise<void> {
    await Promise.all(this.#connections.map((c) => c.open()))
  }

  /**
   * @internal Ends an invocation: request clients close and open transactions roll back — through
   * `waitUntil` after the response where the platform has it, else before returning.
   */
  leave(invocation: Invocation | undefined, a: unknown, b: unknown, c: unknown): Promise<void> | undefined {
    this.#inFlight--
    let ending = invocation
    const ambient = this.#ambient
    // The shared invocation ends with the last one in flight; kept (not reallocated) when it holds nothing.
    if (ending === undefined && ambient !== undefined && this.#inFlight === 0 && this.#connectCount === 0 && (ambient.clients !== undefined || ambient.open?.size)) {
      ending = ambient
      this.#ambient = undefined
    }
    const work = ending === undefined || (ending.clients === undefined && !ending.open?.size) ? undefined : this.#end(ending)
    if (work === undefined && !this.#warmSockets) return undefined
    const waitUntil = findWaitUntil(a, b, c)
    if (waitUntil !== undefined && this.#warmSockets) this.#keepAliveForIdleClose(waitUntil)
    if (work === undefined) return undefined
    if (waitUntil === undefined || (ending?.open?.size ?? 0) > 0) return work
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
    for (const connection of this.#connections) {
      if (!connection.socket || connection.scope !== 'warm') continue
      const closed = connection.idleClosed()
      if (closed !== undefined) waitUntil(closed)
    }
  }

  async #end(invocation: Invocation): Promise<void> {
    invocation.ended = true
    const open = invocation.open
    if (open !== undefined) await Promise.allSettled([...open].map((t) => t.abandon()))
    const clients = invocation.clients
    if (clients === undefined) return
    invocation.clients = undefined
    const byConnection = this.#connections
    await Promise.allSettled(byConnection.filter((c) => clients.has(c)).map((c) => c.closeScoped(clients.get(c)!)))
  }
}

function checkDisconnectOptions(options: DisconnectOptions): void {
  if (!isOptionsObject(options)) throw argumentError('disconnect', `options must be an object (got ${describeValue(options)})`, 'Pass { force: true } or nothing')
  for (const key of Object.keys(options)) if (key !== 'force') throw argumentError('disconnect', `unknown option ${quoted(key)}`, 'Use force, or leave the options out')
  if (options.force !== undefined && typeof options.force !== 'boolean') throw argumentError('disconnect', `force must be a boolean (got ${describeValue(options.force)})`, 'Pass { force: true } or leave it out')
}

function callWith(fn: (...args: unknown[]) => unknown, thisArg: unknown, a: unknown, b: unknown, c: unknown): unknown {
  return fn.call(thisArg, a, b, c)
}

function registryContext(options: RegistryOptions, registry: Registry): ConnectionContext {
  const hooks = options.on ?? {}
  if (typeof hooks !== 'object' || hooks === null) throw configError(undefined, `on must be an object of hook functions (got ${describeValue(hooks)})`, 'Pass { on: { warning: (w) => … } }')
  for (const [name, hook] of Object.entries(hooks)) {
    if (!HOOKS.includes(name)) throw configError(undefined, `unknown hook "on.${name}"`, `Use ${HOOKS.join(', ')}`)
    if (hook !== undefined && typeof hook !== 'function') throw configError(undefined, `on.${name} must be a function (got ${describeValue(hook)})`, `Pass on: { ${name}: (event) => … }`)
  }
  if (options.warn !== undefined && typeof options.warn !== 'boolean') throw configError(undefined, `warn must be a boolean (got ${describeValue(options.warn)})`, 'Pass warn: false to silence NOT_CONNECTED')
  const idle = options.idleTimeoutMs ?? 60_000
  if (typeof idle !== 'number' || !Number.isFinite(idle) || idle < 0) throw configError(undefined, `idleTimeoutMs must be a number of milliseconds ≥ 0 (got ${describeValue(idle)})`, 'Pass e.g. idleTimeoutMs: 60000')
  const platform = options.platform ?? detectPlatform()
  if (!PLATFORMS.includes(platform)) throw configError(undefined, `unknown platform ${quoted(platform)}`, `Use one of ${PLATFORMS.join(', ')} or leave it out`)
  const retry = { ...DEFAULT_RETRY }
  if (options.retry !== undefined) {
    if (typeof options.retry !== 'object' || options.retry === null) throw configError(undefined, `retry must be an object (got ${describeValue(options.retry)})`, 'Pass { retry: { attempts: 10, totalMs: 5000 } }')
    for (const key of Object.keys(options.retry) as (keyof RetryOptions)[]) {
      const value = options.retry[key]
      if (!(key in DEFAULT_RETRY)) throw configError(undefined, `unknown retry option "${key}"`, `Use ${Object.keys(DEFAULT_RETRY).join(', ')}`)
      if (value === undefined) continue
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (key === 'attempts' && (value < 1 || !Number.isInteger(value)))) {
        throw configError(undefined, `retry.${key} must be a ${key === 'attempts' ? 'whole number ≥ 1' : 'number ≥ 0'} (got ${describeValue(value)})`, `Pass e.g. retry: { ${key}: ${DEFAULT_RETRY[key]} }`)
      }
      retry[key] = value
    }
  }
  return {
    hooks,
    retry,
    platform,
    warn: options.warn !== false,
    idleTimeoutMs: idle,
    currentInvocation: () => registry.trackingInvocation(),
    isManaged: () => registry.isManaged(),
  }
}
