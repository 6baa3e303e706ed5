import { checkSchema, normalizeDatabase, type DatabaseOptions, type NormalizedDatabase } from './config.js'
import type { Connection } from './connection.js'
import type { DriverTransaction } from './drivers/driver.js'
import { argumentError, describeValue, LazyDbError, quoted } from './errors.js'
import type { Closable, Invocation } from './invocation.js'
import { placeholderStyle, templateText, type PlaceholderStyle } from './sql.js'
import type { DriverName, Params, QueryResult, Statement, Transaction, TransactionOptions } from './types.js'
import { maskUrl } from './url.js'

/** @internal What a Database needs from its registry. */
export interface DatabaseOwner {
  trackingInvocation(): Invocation | undefined
}

const ISOLATION = ['read uncommitted', 'read committed', 'repeatable read', 'serializable']

/**
 * One named database. Nothing connects until the first operation; then the client is reused as
 * its lifetime allows (see `Registry`). Use placeholders of the driver: `$1` (Postgres), `?` or
 * `:name` (MySQL, SQLite).
 *
 * @example
 * const { rows } = await registry.database.query<{ id: number }>('select id from users where email = $1', [email])
 * const same = await registry.database.sql`select id from users where email = ${email}`
 */
export class Database {
  #name: string
  #config: NormalizedDatabase
  #connection: Connection | undefined = undefined
  #owner: DatabaseOwner | undefined = undefined
  #schema: string | undefined = undefined
  #style: PlaceholderStyle
  #views: Map<string, Database> | undefined = undefined

  /** @internal Use a URL, `{ url, … }`, or the `neon()`, `planetscale()`, `libsql()` factories. */
  constructor(config: string | DatabaseOptions | Database, alias = 'unassigned', schema?: string) {
    if (config instanceof Database) {
      this.#config = config.#config
      this.#name = config.#name
      this.#connection = config.#connection
      this.#owner = config.#owner
      this.#schema = schema
    } else {
      this.#config = normalizeDatabase(alias, config)
      this.#name = alias
    }
    this.#style = placeholderStyle(this.#config.driver)
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
    return this.#connection?.isConnected ?? false
  }

  /** @internal */
  get settings(): NormalizedDatabase {
    return this.#config
  }

  /** @internal Called by the Registry that adopts this database. */
  attach(alias: string, connection: Connection, owner: DatabaseOwner): void {
    if (this.#connection !== undefined) {
      throw new LazyDbError('CONFIG_INVALID', `database "${alias}" is already part of a registry. Create a new one with the factory for each Registry`, { database: alias })
    }
    this.#name = alias
    this.#config = { ...this.#config, alias }
    this.#connection = connection
    this.#owner = owner
  }

  /** @internal A view of this database bound to a schema; cached so repeated `using()` allocates nothing. */
  withSchema(schema: string | undefined): Database {
    if (schema === undefined || schema === this.#schema) return this
    const name = checkSchema(schema, this.#name)
    if (this.#config.driver === 'libsql') {
      throw new LazyDbError('CONFIG_INVALID', `database "${this.#name}": libSQL (SQLite) has no schemas to switch to. Use another database alias instead of { schema }`, { database: this.#name })
    }
    const views = (this.#views ??= new Map())
    let view = views.get(name)
    if (view === undefined) views.set(name, (view = new Database(this, this.#name, name)))
    return view
  }

  #connected(): Connection {
    const connection = this.#connection
    if (connection === undefined) {
      throw new LazyDbError('CONFIG_INVALID', `database "${this.#name}" is not part of a Registry. Pass it to new Registry({ database: … }) first`, { database: this.#name })
    }
    return connection
  }

  /**
   * Runs one statement with the driver's own placeholders.
   * @example await db.query('insert into notes(body) values (?)', ['hi'])
   */
  query<Row = Record<string, unknown>>(text: string, params?: Params): Promise<QueryResult<Row>> {
    if (typeof text !== 'string' || (params !== undefined && (typeof params !== 'object' || params === null))) {
      return Promise.reject(badQuery(this.#name, text, params))
    }
    const connection = this.#connection
    if (connection === undefined) return Promise.reject(this.#notAttached())
    return connection.query(text, params, this.#schema) as Promise<QueryResult<Row>>
  }

  /**
   * A tagged template: each `${value}` is bound as a parameter, never spliced into the SQL.
   * @example const { rows } = await db.sql`select * from users where id = ${id}`
   */
  sql<Row = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<QueryResult<Row>> {
    let text: string
    try {
      text = templateText(strings, this.#style, this.#name)
    } catch (error) {
      return Promise.reject(error)
    }
    const connection = this.#connection
    if (connection === undefined) return Promise.reject(this.#notAttached())
    return connection.query(text, values, this.#schema) as Promise<QueryResult<Row>>
  }

  /**
   * Runs the statements atomically (all or none), in one round trip where the driver allows.
   * @example const [a, b] = await db.batch([{ text: 'insert …', params: [1] }, { text: 'select count(*) from t' }])
   */
  async batch(statements: readonly Statement[]): Promise<QueryResult[]> {
    checkStatements(statements, this.#name)
    const schema = this.#schema
    return this.#connected().run((client) => client.batch(statements, schema))
  }

  /**
   * An interactive transaction: commits when `fn` resolves, rolls back when it throws (rethrowing
   * `fn`'s error unchanged), and is rolled back by `handler()` if still open when the invocation ends.
   * @example
   * await db.transaction(async (tx) => {
   *   await tx.query('update accounts set balance = balance - $1 where id = $2', [10, from])
   *   await tx.query('update accounts set balance = balance + $1 where id = $2', [10, to])
   * }, { isolationLevel: 'serializable' })
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    if (typeof fn !== 'function') throw argumentError('transaction', `expected a function (got ${describeValue(fn)})`, 'Pass an async function: db.transaction(async (tx) => { … })', this.#name)
    checkTransactionOptions(options, this.#name)
    const connection = this.#connected()
    // Taken before begin(), which may take round trips: an invocation that ends meanwhile still owns it.
    const invocation = this.#owner?.trackingInvocation()
    const lease = await connection.lease(true)
    let driverTx: DriverTransaction
    try {
      driverTx = await lease.client.begin(options, this.#schema)
    } catch (error) {
      await lease.release()
      throw connection.fail(error)
    }
    const tx = new OpenTransaction(driverTx, connection, this.#style)
    if (invocation?.ended === true) await tx.abandon()
    else invocation?.track(tx)
    try {
      const result = await fn(tx)
      await tx.commit()
      return result
    } catch (error) {
      await tx.abandon()
      throw error
    } finally {
      invocation?.untrack(tx)
      await lease.release()
    }
  }

  /**
   * The driver's own object (Neon `neon()` function or `Pool`, PlanetScale `Client`, libSQL
   * `Client`), for ORMs and query builders. Connects first if needed.
   * @example const db = drizzle(await registry.database.client())
   */
  async client<T = unknown>(): Promise<T> {
    const lease = await this.#connected().lease()
    return lease.client.raw as T
  }

  #notAttached(): LazyDbError {
    try {
      this.#connected()
    } catch (error) {
      return error as LazyDbError
    }
    return new LazyDbError('CONFIG_INVALID', `database "${this.#name}" is not ready`)
  }
}

/** The `tx` handed to `transaction(fn)`; closed once committed, rolled back or abandoned. */
class OpenTransaction implements Transaction, Closable {
  #done = false
  constructor(
    readonly driverTx: DriverTransaction,
    readonly connection: Connection,
    readonly style: PlaceholderStyle,
  ) {}

  async query<Row = Record<string, unknown>>(text: string, params?: Params): Promise<QueryResult<Row>> {
    if (typeof text !== 'string' || (params !== undefined && (typeof params !== 'object' || params === null))) throw badQuery(this.connection.alias, text, params)
    if (this.#done) throw closedTransaction(this.connection.alias)
    try {
      return (await this.driverTx.query(text, params)) as QueryResult<Row>
    } catch (error) {
      throw this.connection.fail(error)
    }
  }

  sql<Row = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<QueryResult<Row>> {
    return this.query<Row>(templateText(strings, this.style, this.connection.alias), values)
  }

  async commit(): Promise<void> {
    if (this.#done) throw closedTransaction(this.connection.alias)
    this.#done = true
    try {
      await this.driverTx.commit()
    } catch (error) {
      throw this.connection.fail(error)
    }
  }

  async abandon(): Promise<void> {
    if (this.#done) return
    this.#done = true
    try {
      await this.driverTx.rollback()
    } catch {
      // The connection is gone or the server already rolled back: nothing is left open either way.
    }
  }
}

function closedTransaction(alias: string): LazyDbError {
  return new LazyDbError('CLOSED', `database "${alias}": this transaction has already ended (committed, rolled back, or rolled back by handler() when the invocation ended). Await db.transaction(…) inside the handler`, { database: alias })
}

function badQuery(alias: string, text: unknown, params: unknown): LazyDbError {
  if (typeof text !== 'string') return argumentError('query', `the SQL text must be a string (got ${describeValue(text)})`, "Call query('select …', [params])", alias)
  return argumentError('query', `params must be an array or an object of named values (got ${describeValue(params)})`, "Pass [a, b] for $1/? placeholders or { name: value } for :name", alias)
}

function checkStatements(statements: unknown, alias: string): void {
  if (!Array.isArray(statements)) throw argumentError('batch', `expected an array of { text, params? } (got ${describeValue(statements)})`, "Call batch([{ text: 'insert …', params: [1] }])", alias)
  statements.forEach((statement: unknown, index) => {
    const s = statement as Statement | null
    if (typeof s !== 'object' || s === null || typeof s.text !== 'string' || (s.params !== undefined && (typeof s.params !== 'object' || s.params === null))) {
      throw argumentError('batch', `statement ${index} must be { text: string, params?: array | object } (got ${describeValue(statement)})`, 'Give every statement a text string', alias)
    }
  })
}

function checkTransactionOptions(options: unknown, alias: string): void {
  if (options === undefined) return
  const o = options as TransactionOptions | null
  if (typeof o !== 'object' || o === null) throw argumentError('transaction', `options must be an object (got ${describeValue(options)})`, "Pass { isolationLevel: 'serializable', readOnly: true } or nothing", alias)
  if (o.isolationLevel !== undefined && !ISOLATION.includes(o.isolationLevel)) {
    throw argumentError('transaction', `unknown isolationLevel ${quoted(o.isolationLevel)}`, `Use one of ${ISOLATION.join(', ')}`, alias)
  }
  for (const flag of ['readOnly', 'deferrable'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw argumentError('transaction', `${flag} must be a boolean`, `Pass ${flag}: true or leave it out`, alias)
  }
}
