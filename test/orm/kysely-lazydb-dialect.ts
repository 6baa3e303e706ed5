// A Kysely dialect over a lazydb Database: statements through `query()`, Kysely transactions through
// `transaction()`. lazydb then owns Kysely's work as its own (lifetime, retries, stats, hooks, LazyDbError,
// and a transaction left open when the invocation ends is rolled back by handler()). Used for PlanetScale,
// where kysely-planetscale builds a client of its own, and for transactions on Neon over HTTP, which
// kysely-neon does not have. The README shows this file as it is.
import * as k from 'kysely'
import type { Database, Transaction } from '@lazydb/core'

const ROLLBACK = Symbol('rollback')

class LazyDbConnection implements k.DatabaseConnection {
  #tx: Transaction | undefined
  #decide: ((commit: boolean) => void) | undefined
  #done: Promise<void> | undefined
  constructor(private readonly db: Database<unknown>) {}

  async executeQuery<R>(query: k.CompiledQuery): Promise<k.QueryResult<R>> {
    const { rows, rowCount, lastInsertId } = await (this.#tx ?? this.db).query<R>(query.sql, query.parameters)
    const insertId = lastInsertId === undefined ? undefined : BigInt(lastInsertId)
    return { rows, numAffectedRows: BigInt(rowCount), ...(insertId === undefined ? {} : { insertId }) }
  }

  // biome-ignore lint/correctness/useYield: lazydb returns whole results
  async *streamQuery<R>(): AsyncIterableIterator<k.QueryResult<R>> {
    throw new Error('lazydb returns whole results: no streaming')
  }

  /** Opens a lazydb transaction whose callback waits for Kysely's commit or rollback. */
  begin({ isolationLevel, accessMode }: k.TransactionSettings): Promise<void> {
    if (isolationLevel === 'snapshot') return Promise.reject(new Error('lazydb has no snapshot isolation'))
    const decision = new Promise<boolean>((resolve) => (this.#decide = resolve))
    return new Promise<void>((started, failed) => {
      const options = { isolationLevel, readOnly: accessMode === 'read only' }
      const run = this.db.transaction(async (tx) => {
        this.#tx = tx
        started()
        if (!(await decision)) throw ROLLBACK
      }, options)
      this.#done = run.catch((error: unknown) => {
        if (error !== ROLLBACK) throw error
      })
      this.#done.catch(failed) // a failed BEGIN: Kysely gets its error
    })
  }

  /** Lets the lazydb transaction commit or roll back; resolves when it has, rejects as it does. */
  async end(commit: boolean): Promise<void> {
    this.#decide?.(commit)
    try {
      await this.#done
    } finally {
      this.#tx = this.#decide = this.#done = undefined
    }
  }
}

class LazyDbDriver implements k.Driver {
  constructor(private readonly db: Database<unknown>) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<LazyDbConnection> {
    return new LazyDbConnection(this.db)
  }
  beginTransaction(connection: LazyDbConnection, settings: k.TransactionSettings): Promise<void> {
    return connection.begin(settings)
  }
  commitTransaction(connection: LazyDbConnection): Promise<void> {
    return connection.end(true)
  }
  rollbackTransaction(connection: LazyDbConnection): Promise<void> {
    return connection.end(false)
  }
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {} // lazydb closes its clients itself
}

/** `new Kysely<Tables>({ dialect: new LazyDbDialect(registry.database) })`: the SQL dialect follows the driver. */
export class LazyDbDialect implements k.Dialect {
  readonly #family: 'postgres' | 'mysql' | 'sqlite'
  constructor(private readonly db: Database<unknown>) {
    this.#family = db.driver === 'planetscale' ? 'mysql' : db.driver === 'libsql' ? 'sqlite' : 'postgres'
  }
  createDriver(): k.Driver {
    return new LazyDbDriver(this.db)
  }
  createAdapter(): k.DialectAdapter {
    const adapters = { postgres: k.PostgresAdapter, mysql: k.MysqlAdapter, sqlite: k.SqliteAdapter }
    return new adapters[this.#family]()
  }
  createQueryCompiler(): k.QueryCompiler {
    const compilers = { postgres: k.PostgresQueryCompiler, mysql: k.MysqlQueryCompiler, sqlite: k.SqliteQueryCompiler }
    return new compilers[this.#family]()
  }
  createIntrospector(db: k.Kysely<unknown>): k.DatabaseIntrospector {
    const introspectors = { postgres: k.PostgresIntrospector, mysql: k.MysqlIntrospector, sqlite: k.SqliteIntrospector }
    return new introspectors[this.#family](db)
  }
}
