import type { Client, InArgs, InStatement, ResultSet, Transaction } from '@libsql/client'
import type { Params, QueryResult, Statement, TransactionOptions } from '../../types.js'
import type { DriverClient, DriverConfig, DriverTransaction } from '../contract.js'
import { manualTransactionError, opensTransaction } from '../manual-transaction.js'
import { SETTLE_AFTER_IDLE_MS, settleIo } from '../settle-io.js'
import { classifyLibsql } from './errors.js'
import { hasPositionalPlaceholder, namedForPositional } from './placeholders.js'
import { WriteTurns } from './write-turns.js'

function toResult(rs: ResultSet): QueryResult {
  const rows = rs.rows as unknown as Record<string, unknown>[]
  const result: QueryResult = {
    rows,
    rowCount: rs.columns.length > 0 ? rs.rows.length : rs.rowsAffected,
    columns: rs.columns,
  }
  if (rs.rowsAffected > 0 && rs.lastInsertRowid !== undefined) result.lastInsertId = String(rs.lastInsertRowid)
  return result
}

function statement(text: string, params: Params | undefined): InStatement {
  return params === undefined ? text : { sql: text, args: params as InArgs }
}

/** Named parameters (an object) for a statement written with `?` abort the process in libSQL: refuse them first. */
function namedParamsError(text: string, params: Params | undefined, alias: string): Error | undefined {
  if (params !== undefined && !Array.isArray(params) && hasPositionalPlaceholder(text)) return namedForPositional(alias)
  return undefined
}

function checkNamed(text: string, params: Params | undefined, alias: string): void {
  const error = namedParamsError(text, params, alias)
  if (error !== undefined) throw error
}

class LibsqlTransaction implements DriverTransaction {
  readonly #tx: Transaction
  readonly #done: (() => void) | undefined
  readonly #embedded: boolean
  readonly #alias: string

  constructor(tx: Transaction, done: (() => void) | undefined, embedded: boolean, alias: string) {
    this.#tx = tx
    this.#done = done
    this.#embedded = embedded
    this.#alias = alias
  }

  async query(text: string, params: Params | undefined): Promise<QueryResult> {
    checkNamed(text, params, this.#alias)
    return toResult(await this.#tx.execute(statement(text, params)))
  }

  async commit(): Promise<void> {
    try {
      await this.#tx.commit()
    } finally {
      this.#end()
    }
  }

  async rollback(force = false): Promise<void> {
    try {
      // Embedded, ROLLBACK runs at once; remote, `force` closes the stream (the server rolls back).
      if (!force || this.#embedded) await this.#tx.rollback()
    } finally {
      this.#end()
    }
  }

  #ended = false

  #end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#tx.close()
    this.#done?.()
  }
}

export class LibsqlClient implements DriverClient {
  readonly raw: Client
  readonly #socket: boolean
  /** Embedded databases only: one writer at a time. */
  readonly #turns: WriteTurns | undefined
  #lastActive = performance.now()

  readonly #config: DriverConfig

  constructor(raw: Client, config: DriverConfig) {
    this.raw = raw
    this.#config = config
    this.#socket = raw.protocol === 'ws'
    this.#turns = raw.protocol === 'file' ? new WriteTurns() : undefined
  }

  /**
   * After a pause (a freeze, a quiet spell) the far side's close of the WebSocket may be waiting
   * unread; the client only reopens a socket it knows is closed, and would otherwise send the
   * statement into the dead one. Letting the I/O already received run first makes it see the close.
   * The client's socket is private, so unlike neon-ws there is no readyState to check afterwards.
   */
  #settle(): Promise<void> | undefined {
    if (!this.#socket) return undefined
    const now = performance.now()
    const idle = now - this.#lastActive >= SETTLE_AFTER_IDLE_MS
    this.#lastActive = now
    return idle ? settleIo() : undefined
  }

  execute(text: string, params: Params | undefined): Promise<ResultSet> {
    if (opensTransaction(text)) return Promise.reject(manualTransactionError(this.#config, false))
    const named = namedParamsError(text, params, this.#config.alias)
    if (named !== undefined) return Promise.reject(named)
    if (this.#turns?.busy === true) return this.#whileWriterOpen(text, params, this.#turns)
    const settling = this.#settle()
    if (settling === undefined) return this.raw.execute(statement(text, params))
    return settling.then(() => this.raw.execute(statement(text, params)))
  }

  /**
   * A statement while a transaction holds the embedded database: a read goes ahead on a connection of
   * its own; one refused as busy (a write, or the only connection of :memory: taken) never started,
   * so it waits for its turn and runs then.
   */
  async #whileWriterOpen(text: string, params: Params | undefined, turns: WriteTurns): Promise<ResultSet> {
    try {
      return await this.raw.execute(statement(text, params))
    } catch (error) {
      if (!classifyLibsql(error).notStarted) throw error
      return turns.inTurn(() => this.raw.execute(statement(text, params)))
    }
  }

  toResult(native: unknown): QueryResult {
    return toResult(native as ResultSet)
  }

  async batch(statements: readonly Statement[]): Promise<QueryResult[]> {
    for (const s of statements) checkNamed(s.text, s.params, this.#config.alias)
    const run = () =>
      this.raw.batch(
        statements.map((s) => statement(s.text, s.params)),
        'write',
      )
    await this.#settle()
    const results = this.#turns === undefined ? await run() : await this.#turns.inTurn(run)
    return results.map(toResult)
  }

  async begin(options: TransactionOptions | undefined): Promise<DriverTransaction> {
    await this.#settle()
    const mode = options?.readOnly === true ? 'read' : 'write'
    const turns = this.#turns
    const alias = this.#config.alias
    if (turns === undefined) return new LibsqlTransaction(await this.raw.transaction(mode), undefined, false, alias)
    await turns.take()
    try {
      return new LibsqlTransaction(await this.raw.transaction(mode), () => turns.release(), true, alias)
    } catch (error) {
      turns.release()
      throw error
    }
  }

  async close(): Promise<void> {
    this.raw.close()
  }

  isAlive(): boolean {
    return !this.raw.closed
  }
}
