import type { ConnectionStringBinding } from './hyperdrive.js'
import { checkAlias, type DatabaseOptions } from './database-config.js'
import { DatabaseRuntime, type RuntimeContext } from './database-runtime.js'
import { adoptDatabase, Database, namedDatabase } from './database.js'
import { argumentError, describeValue, detached, LazyDbError } from './errors.js'
import { registryFromEnv } from './from-env.js'
import { InvocationLifecycle } from './invocation-lifecycle.js'
import { checkDisconnectOptions, checkRegistryOptions, checkUsingOptions, type RegistrySettings } from './options.js'
import type { PlatformName } from './platform.js'
import { RegistryHold } from './registry-hold.js'
import type { Hooks, RegistryStats, RetryOptions, Tracing } from './types.js'

/**
 * A database slot: a URL, a Hyperdrive binding (`env.HYPERDRIVE`), `{ url, driver?, scope?, …driverOptions }`,
 * or a `Database` from a factory.
 */
// biome-ignore lint/suspicious/noExplicitAny: a database of any client type
export type DatabaseInput = string | ConnectionStringBinding | DatabaseOptions | Database<any>

/**
 * The `Database` a slot's input becomes: a factory's database keeps its client type; a URL or an
 * options object gives `Database<unknown>`. An `undefined` input (an unset environment variable) is
 * typed like a URL, and `new Registry` throws `CONFIG_INVALID` for it.
 */
export type DatabaseOf<Input> = Input extends Database<infer Client> ? Database<Client> : Database<unknown>

/** The extra databases of a registry, by name, each typed from its input. */
export type ExtraDatabases<Extra> = { readonly [Name in keyof Extra]: DatabaseOf<Extra[Name]> }

export interface RegistryOptions<
  Default extends DatabaseInput = DatabaseInput,
  Extra extends Record<string, DatabaseInput | undefined> = Record<string, DatabaseInput | undefined>,
> {
  /** The default database. */
  database: Default
  /**
   * Named extra databases, reached with `registry.using(name)` and `registry.extra.name`. Every value
   * must be set: an `undefined` one (an unset environment variable) throws `CONFIG_INVALID` naming it.
   */
  extra?: Extra
  /** Lifecycle hooks. Each is optional; a hook that throws (or rejects) is ignored. */
  on?: Hooks
  /** Wraps statements, transactions, connects and retries, e.g. in OpenTelemetry spans: `tracing: otel()`. */
  tracing?: Tracing
  /** `false` turns the NOT_CONNECTED warning off. */
  warn?: boolean
  /** Close a warm socket connection idle this long (default 60 000 ms; 5 000 on Vercel Node); per database too. */
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

const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose')

/** @internal The invocation lifecycle of a registry, for handler(). */
export let lifecycleOf: (registry: Registry) => InvocationLifecycle
/** @internal The databases of a registry at run time, for a rollback scope (rollback-scope.ts). */
export let runtimesOf: (registry: Registry) => readonly DatabaseRuntime[]

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
export class Registry<
  Default extends DatabaseInput = DatabaseInput,
  Extra extends Record<string, DatabaseInput | undefined> = Record<string, DatabaseInput | undefined>,
> {
  /** The default database. */
  readonly database: DatabaseOf<Default>
  /** The named extra databases. */
  readonly extra: ExtraDatabases<Extra>
  readonly #runtimes: DatabaseRuntime[] = []
  readonly #settings: RegistrySettings
  readonly #lifecycle: InvocationLifecycle
  readonly #hold: RegistryHold

  static {
    lifecycleOf = (registry) => registry.#lifecycle
    runtimesOf = (registry) => registry.#runtimes
  }

  constructor(options: RegistryOptions<Default, Extra>) {
    this.#settings = checkRegistryOptions(options)
    const context: RuntimeContext = {
      settings: this.#settings,
      currentOwner: () => this.#lifecycle.currentOwner(),
      isManaged: () => this.#lifecycle.isManaged(),
    }
    this.database = this.#adopt('default', options.database, context) as DatabaseOf<Default>
    const extra: Record<string, Database<unknown>> = {}
    for (const [name, input] of Object.entries(options.extra ?? {})) {
      checkAlias(name)
      extra[name] = this.#adopt(name, input, context)
    }
    this.extra = Object.freeze(extra) as ExtraDatabases<Extra>
    this.#lifecycle = new InvocationLifecycle(this.#runtimes)
    this.#hold = new RegistryHold(this.#lifecycle, this.#runtimes)
  }

  /**
   * A registry from environment variables: `DATABASE_URL` is the default database and
   * `DATABASE_URL_<NAME>` the extra `<name>` (lower-cased). Equal values give back the same
   * registry, so building one per request (Cloudflare's `env`) costs nothing after the first.
   * A Hyperdrive binding `HYPERDRIVE` (`HYPERDRIVE_<NAME>`) stands for an unset `DATABASE_URL`
   * (`DATABASE_URL_<NAME>`). `env` is any object, so a Worker's typed `interface Env` is accepted as it is.
   * @example export default withRegistry((env) => Registry.fromEnv(env), { fetch })
   */
  static fromEnv(env?: object, options: Omit<RegistryOptions, 'database' | 'extra'> = {}): Registry {
    return registryFromEnv(env, options, (built) => new Registry(built))
  }

  #adopt(alias: string, input: DatabaseInput | undefined, context: RuntimeContext): Database<unknown> {
    const database = input instanceof Database ? input : namedDatabase(input as string | DatabaseOptions, alias)
    adoptDatabase(database, alias, (config) => {
      const runtime = new DatabaseRuntime(config, context)
      this.#runtimes.push(runtime)
      return runtime
    })
    return database
  }

  /**
   * The named database (the default when `name` is undefined), optionally bound to a schema.
   * @example await registry.using('analytics').query('insert into hits(path) values (?)', [path])
   * @example await registry.using(undefined, { schema: 'tenant_42' }).sql`select * from orders`
   */
  using<Name extends 'default' | (keyof Extra & string) = 'default'>(
    name?: Name,
    options?: UsingOptions,
  ): Name extends keyof Extra ? DatabaseOf<Extra[Name]> : DatabaseOf<Default>
  using(name?: string, options?: UsingOptions): Database<unknown> {
    if (!(this instanceof Registry)) throw detached('using', 'registry')
    let database: Database<unknown> | undefined
    if (name === undefined || name === 'default') database = this.database
    else if (typeof name !== 'string' || name === '') {
      throw argumentError(
        'using',
        `the name must be a non-empty string (got ${describeValue(name)})`,
        'Call using() for the default database or using("name") for an extra one',
      )
    } else {
      const extra = this.extra as Readonly<Record<string, Database<unknown>>>
      database = Object.hasOwn(extra, name) ? extra[name] : undefined
    }
    if (database === undefined) {
      const known = ['default', ...Object.keys(this.extra)].map((n) => `"${n}"`).join(', ')
      throw new LazyDbError(
        'UNKNOWN_DATABASE',
        `no database named "${name}". Known names: ${known}. ` +
          `Add it under extra (or DATABASE_URL_${String(name).toUpperCase()})`,
        { database: name },
      )
    }
    if (options === undefined) return database
    return database.withSchema(checkUsingOptions(options, name))
  }

  /**
   * Connects every database now and holds them until the matching `disconnect()` (reference
   * counted). If one fails, those that connected are closed again and the error names every
   * failed alias; concurrent calls share one attempt and fail together.
   * @example await registry.connect(); try { await work() } finally { await registry.disconnect() }
   */
  connect(): Promise<void> {
    if (!(this instanceof Registry)) return Promise.reject(detached('connect', 'registry'))
    return this.#hold.connect()
  }

  /**
   * Releases one `connect()`; the last one (or `force`) ends the registry's hold and closes every
   * warm client, each once the statements on it have ended (with `force`: at once, and the work on
   * it rejects with CLOSED). A database used afterwards connects again lazily.
   * @example await registry.disconnect({ force: true })
   */
  async disconnect(options?: DisconnectOptions): Promise<void> {
    if (!(this instanceof Registry)) throw detached('disconnect', 'registry')
    await this.#hold.disconnect(checkDisconnectOptions(options))
  }

  /** Calls `disconnect()`, for `await using registry = …` (Node ≥ 24, or a transpiler). */
  async [asyncDispose](): Promise<void> {
    await this.disconnect()
  }

  /** Counters since the process started: invocations (cold ones too) and per-database activity. */
  stats(): RegistryStats {
    if (!(this instanceof Registry)) throw detached('stats', 'registry')
    const databases: RegistryStats['databases'] = {}
    for (const runtime of this.#runtimes) databases[runtime.alias] = { ...runtime.stats }
    const { total, cold } = this.#lifecycle
    return { platform: this.#settings.platform, invocations: { total, cold }, databases }
  }
}
