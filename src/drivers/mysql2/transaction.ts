import type { Params, QueryResult } from '../../types.js'
import type { DriverTransaction } from '../contract.js'
import { type CoreConnection, run } from './connection.js'
import { connectionBroken } from './errors.js'
import { toResult } from './sql.js'

/** How long a forced rollback waits for its ROLLBACK before the connection is destroyed instead. */
const FORCED_ROLLBACK_MS = 100

/** How a transaction ends on its connection: COMMIT or ROLLBACK, after the schema is put back. */
export type Ending = (connection: CoreConnection, end: 'COMMIT' | 'ROLLBACK') => Promise<unknown>
/** Gives the connection back: `broken` destroys it; otherwise what the last statement left decides. */
export type GiveBack = (connection: CoreConnection, broken: boolean, lastRows?: unknown) => Promise<unknown>

/**
 * An interactive transaction on one pooled connection. mysql2 queues a connection's commands, so
 * statements that fn sends at once run in turn. The connection goes back to the pool once, when the
 * transaction ends: after COMMIT or ROLLBACK, or destroyed when it broke.
 */
export class Mysql2Transaction implements DriverTransaction {
  #finished = false
  #broken = false
  readonly #connection: CoreConnection
  readonly #end: Ending
  readonly #giveBack: GiveBack

  constructor(connection: CoreConnection, end: Ending, giveBack: GiveBack) {
    this.#connection = connection
    this.#end = end
    this.#giveBack = giveBack
  }

  async #finish(broken: boolean, lastRows?: unknown): Promise<void> {
    if (this.#finished) return
    this.#finished = true
    await this.#giveBack(this.#connection, broken || this.#broken, lastRows)
  }

  async query(text: string, params: Params | undefined): Promise<QueryResult> {
    try {
      const [rows, fields] = await run(this.#connection, text, params)
      return toResult(rows, fields)
    } catch (error) {
      if (connectionBroken(error)) this.#broken = true
      throw error
    }
  }

  async commit(): Promise<void> {
    let rows: unknown
    try {
      rows = await this.#end(this.#connection, 'COMMIT')
    } catch (error) {
      await this.#finish(true)
      throw error
    }
    await this.#finish(false, rows)
  }

  async rollback(force = false): Promise<void> {
    if (force) {
      // An idle transaction's ROLLBACK takes one round trip and keeps the connection; one queued behind
      // a statement still running does not wait: the connection is destroyed (the server rolls back).
      let timer: ReturnType<typeof setTimeout> | undefined
      const rolledBack = await Promise.race([
        this.#end(this.#connection, 'ROLLBACK').then(
          (rows) => ({ rows }),
          () => undefined,
        ),
        new Promise<undefined>((resolve) => (timer = setTimeout(resolve, FORCED_ROLLBACK_MS, undefined))),
      ])
      clearTimeout(timer)
      return this.#finish(rolledBack === undefined, rolledBack?.rows)
    }
    let rows: unknown
    try {
      rows = await this.#end(this.#connection, 'ROLLBACK')
    } catch (error) {
      await this.#finish(true)
      throw error
    }
    await this.#finish(false, rows)
  }
}
