import { checkSchema, normalizeDatabase, type DatabaseConfig, type DatabaseOptions } from './database-config.js'
import type { DatabaseRuntime } from './database-runtime.js'
import { configError, detached, LazyDbError } from './errors.js'
import { checkStatements, checkTransactionArguments, isParams, queryArgumentsError } from './options.js'
import { placeholderStyle, templateText, type PlaceholderStyle } from './sql-template.js'
import { runTransaction } from './transaction.js'
import type { DriverName, Params, QueryResult, Statement, Transaction, TransactionOptions } from './types.js'
import { maskUrl } from './url.js'

/** @internal A database made from a registry's URL or options, named for its alias from the start. */
export let namedDatabase: (input: string | DatabaseOptions, alias: string) => Database
let adopt: (
  database: Database<unknown>,
  alias: string,
  makeRuntime: (config: DatabaseConfig) => DatabaseRuntime,
) => void
// What the next `new Database` is made from when lazydb makes it: a registry's alias for a URL (so a
// config error names it), or the database a schema view shares everything with.
let pendingAlias: string | undefined
let pendingView: { source: Database<unknown>; schema: string } | undefined

/**
 * One named database. Nothing connects until the first operation; then the client is reused as
 * its lifetime allows (see `Registry`). Use placeholders of the driver: `$1` (Postgres), `?` or
 * `:name` (MySQL, SQLite). `Client` is the type of the driver's own object that `client()` hands out:
 * known for a database from a driver factory (`libsql()`, `neon()`, `planetscale()`), `unknown` for a
 * database configured by URL alone.
 *
 * @example
 * const { rows } = await registry.database.query<{ id: number }>('select id from users where email = $1', [email])
 * const same = await registry.database.sql`select id from users where email = ${email}`
 */
export class Database<Client = unknown> {
  #name: string
  #config: DatabaseConfig
  #runtime: DatabaseRuntime | undefined = undefined
  #schema: string | undefined = undefined
  #style: PlaceholderStyle
  #views: Map<string, Database<unknown>> | undefined = undefined

  /** Use a URL or `{ url, … }` in a Registry, or the `neon()`, `planetscale()`, `libsql()` factories. */
  constructor(config: string | DatabaseOptions) {
    const view = pendingView
    pendingView = undefined
    if (view !== undefined) {
      this.#name = view.source.#name
      this.#config = view.source.#config
      this.#runtime = view.source.#runtime
      this.#schema = view.schema
    } else {
      this.#name = pendingAlias ?? 'unassigned'
      this.#config = normalizeDatabase(this.#name, config)
    }
    this.#style = placeholderStyle(this.#config.driver)
  }

  static {
    namedDatabase = (input, alias) => {
      pendingAlias = alias
      try {
        return new Database(input)
      } finally {
        pendingAlias = undefined
      }
    }
    adopt = (database, alias, makeRuntime) => {
      if (database.#runtime !== undefined) {
        throw configError(
          alias,
          'this database is already part of a registry',
          'Create a new one with the factory for each Registry',
        )
      }
      database.#name = alias
      database.#config = { ...database.#config, alias }
      database.#runtime = makeRuntime(database.#config)
    }
  }

  /** The alias in its registry (`default` for the main database). */
  get name(): string {
    return this.#name
  }

  get driver(): DriverName {
    return this.#config.driver
  }

  /** The URL with its password and tokens masked. */
  get url(): string {
    return maskUrl(this.#config.url)
  }

  /** The schema this view binds statements to, if any. */
  get schema(): string | undefined {
    return this.#schema
  }

  /** Whether a driver client is open for this database (in this invocation, when request-scoped). */
  get isConnected(): boolean {
    return this.#runtime?.isConnected ?? false
  }

  /** A view of this database bound to a schema; cached, so repeated `using()` allocates nothing. */
  withSchema(schema: string | undefined): Database<Client> {
    if (schema === undefined || schema === this.#schema) return this
    const name = checkSchema(schema, this.#name)
    if (this.#config.driver === 'libsql') {
      throw configError(
        this.#name,
        'libSQL (SQLite) has no schemas to switch to',
        'Use another database alias instead of { schema }',
      )
    }
    const views = (this.#views ??= new Map())
    let view = views.get(name)
    if (view === undefined) {
      pendingView = { source: this, schema: name }
      views.set(name, (view = new Database('')))
    }
    return view as Database<Client>
  }

  #attached(): DatabaseRuntime {
    const runtime = this.#runtime
    if (runtime === undefined) {
      throw new LazyDbError(
        'CONFIG_INVALID',
        `database "${this.#name}" is not part of a Registry. Pass it to new Registry({ database: … }) first`,
        {
          database: this.#name,
        },
      )
    }
    return runtime
  }

  /**
   * Runs one statement with the driver's own placeholders.
   * @example await db.query('insert into notes(body) values (?)', ['hi'])
   */
  query<Row = Record<string, unknown>>(text: string, params?: Params): Promise<QueryResult<Row>> {
    if (!(this instanceof Database)) return Promise.reject(detached('query'))
    const runtime = this.#runtime
    if (runtime === undefined || typeof text !== 'string' || (params !== undefined && !isParams(params))) {
      return Promise.reject(queryArgumentsError(this.#name, text, params) ?? this.#notAttached())
    }
    return runtime.query(text, params, this.#schema) as Promise<QueryResult<Row>>
  }

  /**
   * A tagged template: each `${value}` is bound as a parameter, never spliced into the SQL.
   * @example const { rows } = await db.sql`select * from users where id = ${id}`
   */
  sql<Row = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<QueryResult<Row>> {
    if (!(this instanceof Database)) return Promise.reject(detached('sql'))
    let text: string
    try {
      text = templateText(strings, this.#style, this.#name)
    } catch (error) {
      return Promise.reject(error)
    }
    const runtime = this.#runtime
    if (runtime === undefined) return Promise.reject(this.#notAttached())
    return runtime.query(text, values, this.#schema) as Promise<QueryResult<Row>>
  }

  /**
   * Runs the statements atomically (all or none), in one round trip where the driver allows.
   * @example const [a, b] = await db.batch([{ text: 'insert …', params: [1] }, { text: 'select count(*) from t' }])
   */
  async batch(statements: readonly Statement[]): Promise<QueryResult[]> {
    if (!(this instanceof Database)) throw detached('batch')
    checkStatements(statements, this.#name)
    return this.#attached().batch(statements, this.#schema)
  }

  /**
   * An interactive transaction: commits when `fn` resolves, rolls back when it throws (rethrowing
   * `fn`'s error unchanged), and is rolled back by `handler()` if still open when the invocation ends.
   * `fn` gets a `tx` with `query` and `sql`; the result is what `fn` resolved to.
   * @example
   * await db.transaction(async (tx) => {
   *   await tx.query('update accounts set balance = balance - $1 where id = $2', [10, from])
   *   await tx.query('update accounts set balance = balance + $1 where id = $2', [10, to])
   * }, { isolationLevel: 'serializable' })
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    if (!(this instanceof Database)) throw detached('transaction')
    const checked = checkTransactionArguments(fn, options, this.#name)
    const runtime = this.#attached()
    if (runtime.rollback !== undefined) return runtime.rollback.transaction(fn, checked, this.#schema, this.#style)
    return runTransaction(runtime, fn, checked, this.#schema, this.#style)
  }

  /**
   * The driver's own object (Neon `neon()` function or `Pool`, PlanetScale `Client`, libSQL
   * `Client`), for ORMs and query builders, connecting first if needed, typed as that object for a
   * database from a driver factory. Inside `handler()` (or between `connect()` and `disconnect()`)
   * the client counts as in use until the invocation ends: it is never idle-closed under the ORM's work.
   * @example const db = drizzle(await registry.database.client())
   */
  async client(): Promise<Client> {
    if (!(this instanceof Database)) throw detached('client')
    const runtime = this.#attached()
    if (runtime.rollback !== undefined) return (await runtime.rollback.client()) as Client
    const owner = runtime.currentOwner()
    if (runtime.scope === 'request' && owner === undefined) {
      throw runtime.noClientError(
        'client() on a request-scoped database needs an invocation to close the client with',
        'Call it inside handler(registry, fn), or after registry.connect()',
      )
    }
    const slot = await runtime.lease('hold', owner)
    const raw = slot.client!.raw
    // Held until the owner ends; without an owner (and for a second client() in one owner) not held.
    if (owner === undefined || owner.ended || !owner.hold(slot)) slot.releaseHold()
    return raw as Client
  }

  #notAttached(): LazyDbError {
    try {
      this.#attached()
    } catch (error) {
      return error as LazyDbError
    }
    return new LazyDbError('CONFIG_INVALID', `database "${this.#name}" is not ready`)
  }
}

/** @internal Gives `database` its alias and runtime in a registry; CONFIG_INVALID if it has one. */
export function adoptDatabase(
  database: Database,
  alias: string,
  makeRuntime: (config: DatabaseConfig) => DatabaseRuntime,
): void {
  adopt(database, alias, makeRuntime)
}
