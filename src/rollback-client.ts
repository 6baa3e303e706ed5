// What client() hands out inside a rollback scope: an object an ORM can drive like the driver's own,
// running on the scope's session. Postgres: the pinned session (a pg-style Client) behind a `query`
// that turns the ORM's BEGIN / COMMIT / ROLLBACK into savepoints, so they can never end the scope's
// transaction. libSQL: a Client-shaped object (execute, batch, transaction) over the session. Other
// drivers are refused with the reason.
import type { DriverTransaction } from './drivers/contract.js'
import { LazyDbError } from './errors.js'
import type { Frame, RollbackSession } from './rollback-session.js'
import type { Params, QueryResult } from './types.js'

export async function rollbackClient(session: RollbackSession, tx: DriverTransaction): Promise<unknown> {
  const driver = session.runtime.driverName
  if (driver === 'libsql') return new RollbackLibsqlClient(session)
  const native = (tx as { session?: { query?: unknown } }).session
  if (driver !== 'neon-http' && typeof native?.query === 'function') {
    return new RollbackPgSession(session, native as PgQueryable)
  }
  const why =
    driver === 'neon-http'
      ? "the HTTP query function cannot join the scope's session. Give the tests driver: 'neon-ws' (same URL, " +
        "transport: 'ws'), whose client() inside the scope is the session"
      : `no ${driver} session object can be handed out. Use db.query / db.transaction in these tests`
  throw new LazyDbError(
    'TRANSACTION_UNSUPPORTED',
    `database "${session.alias}" (${driver}): client() inside a rollback scope: ${why}`,
    { database: session.alias, mayHaveRun: false },
  )
}

// --- Postgres -------------------------------------------------------------------------------------

interface PgQueryable {
  query(config: unknown, values?: unknown): Promise<unknown>
}

type Control = 'begin' | 'commit' | 'rollback'

const BEGIN = /^\s*(?:begin|start\s+transaction)\b/i
const COMMIT = /^\s*(?:commit|end)\b(?!\s+and\s+chain)/i
const ROLLBACK = /^\s*(?:rollback|abort)(?:\s+(?:work|transaction))?\s*;?\s*$/i

function controlOf(text: string): Control | undefined {
  if (BEGIN.test(text)) return 'begin'
  if (COMMIT.test(text)) return 'commit'
  if (ROLLBACK.test(text)) return 'rollback'
  return undefined
}

/**
 * The scope's Postgres session as an ORM sees it: `query(textOrConfig, values)` like pg's Client and
 * Pool (`connect()` gives itself back, `release()` does nothing), so Drizzle and Kysely take it as is.
 */
export class RollbackPgSession {
  readonly #session: RollbackSession
  readonly #native: PgQueryable
  /** Savepoints standing for the ORM's open transactions, innermost last. */
  readonly #open: { frame: Frame; name: string }[] = []

  constructor(session: RollbackSession, native: PgQueryable) {
    this.#session = session
    this.#native = native
  }

  query(config: unknown, values?: unknown): Promise<unknown> {
    const text = typeof config === 'string' ? config : (config as { text?: unknown } | null)?.text
    const control = typeof text === 'string' ? controlOf(text) : undefined
    const native = this.#native
    if (control === 'begin') {
      return this.#session.openSavepoint().then((open) => {
        this.#open.push(open)
        return { command: 'BEGIN', rows: [], rowCount: 0, fields: [] }
      })
    }
    if (control !== undefined) {
      const open = this.#open.pop()
      // Nothing open (a COMMIT with no BEGIN): Postgres only warns; so does this, by running nothing.
      const result = { command: control.toUpperCase(), rows: [], rowCount: 0, fields: [] }
      if (open === undefined) return Promise.resolve(result)
      return this.#session.endFrame(open.frame, open.name, control === 'commit', false).then(() => result)
    }
    const send = () => native.query(config, values)
    return this.#open.length > 0 ? this.#session.serial(send) : this.#session.statement(send)
  }

  /** As a Pool: the session itself. */
  connect(): Promise<this> {
    return Promise.resolve(this)
  }

  release(): void {}

  /** The session ends with the scope, never before. */
  end(): Promise<void> {
    return Promise.resolve()
  }

  on(): this {
    return this
  }
}

// --- libSQL ---------------------------------------------------------------------------------------

type InStatement = string | { sql: string; args?: Params }

function unpack(stmt: InStatement, args?: Params): [string, Params | undefined] {
  return typeof stmt === 'string' ? [stmt, args] : [stmt.sql, stmt.args]
}

/** A libSQL ResultSet from lazydb's result (rows are the driver's own Row objects). */
function toResultSet(result: QueryResult): Record<string, unknown> {
  const rowsAffected = result.columns.length > 0 ? 0 : result.rowCount
  const lastInsertRowid = result.lastInsertId === undefined ? undefined : BigInt(result.lastInsertId)
  const { rows, columns } = result
  return {
    columns,
    columnTypes: columns.map(() => ''),
    rows,
    rowsAffected,
    lastInsertRowid,
    toJSON: () => ({ columns, rows, rowsAffected, lastInsertRowid: lastInsertRowid?.toString() }),
  }
}

/** The parts of libSQL's `Client` ORMs use (execute, batch, migrate, transaction), on the scope's session. */
export class RollbackLibsqlClient {
  readonly protocol = 'file'
  readonly closed = false
  readonly #session: RollbackSession

  constructor(session: RollbackSession) {
    this.#session = session
  }

  execute(stmt: InStatement, args?: Params): Promise<Record<string, unknown>> {
    const [text, params] = unpack(stmt, args)
    return this.#session.statement((tx) => tx.query(text, params)).then(toResultSet)
  }

  async batch(stmts: InStatement[]): Promise<Record<string, unknown>[]> {
    const statements = stmts.map((s) => unpack(s))
    const results = await this.#session.runtime.batch(
      statements.map(([text, params]) => (params === undefined ? { text } : { text, params })),
      undefined,
    )
    return results.map(toResultSet)
  }

  migrate(stmts: InStatement[]): Promise<Record<string, unknown>[]> {
    return this.batch(stmts)
  }

  async transaction(): Promise<RollbackLibsqlTransaction> {
    const { frame, name } = await this.#session.openSavepoint()
    return new RollbackLibsqlTransaction(this.#session, frame, name)
  }

  executeMultiple(): Promise<void> {
    return Promise.reject(
      new LazyDbError(
        'TRANSACTION_UNSUPPORTED',
        `database "${this.#session.alias}": executeMultiple() is not available inside a rollback scope. ` +
          'Send the statements one by one, or with batch()',
        { database: this.#session.alias, mayHaveRun: false },
      ),
    )
  }

  async sync(): Promise<undefined> {
    return undefined
  }

  /** The session ends with the scope, never before. */
  close(): void {}
}

/** libSQL's `Transaction` as a savepoint on the scope's session. */
export class RollbackLibsqlTransaction {
  readonly #session: RollbackSession
  readonly #frame: Frame
  readonly #name: string
  #done = false

  constructor(session: RollbackSession, frame: Frame, name: string) {
    this.#session = session
    this.#frame = frame
    this.#name = name
  }

  get closed(): boolean {
    return this.#done
  }

  execute(stmt: InStatement, args?: Params): Promise<Record<string, unknown>> {
    const [text, params] = unpack(stmt, args)
    return this.#session.serial((tx) => tx.query(text, params)).then(toResultSet)
  }

  async batch(stmts: InStatement[]): Promise<Record<string, unknown>[]> {
    const results: Record<string, unknown>[] = []
    for (const stmt of stmts) results.push(await this.execute(stmt))
    return results
  }

  commit(): Promise<void> {
    return this.#end(true)
  }

  rollback(): Promise<void> {
    return this.#end(false)
  }

  /** Like libSQL's: a transaction closed while open is rolled back. */
  close(): void {
    if (!this.#done) void this.#end(false).catch(() => undefined)
  }

  async #end(commit: boolean): Promise<void> {
    if (this.#done) return
    this.#done = true
    await this.#session.endFrame(this.#frame, this.#name, commit, false)
  }
}
