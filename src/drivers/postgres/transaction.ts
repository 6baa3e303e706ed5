import type { PendingQuery, ReservedSql, Row } from 'postgres'
import type { Params, QueryResult } from '../../types.js'
import type { DriverTransaction } from '../contract.js'
import { positional } from '../pg-common/sql.js'
import { type Results, toResult } from './result.js'

// An interactive transaction of the postgres driver, on a connection reserved from the pool.

type Query = PendingQuery<Row[]>

/** How long a forced rollback waits for its ROLLBACK before it lets the connection go (closed, not pooled). */
const FORCED_ROLLBACK_MS = 100

/** An interactive transaction on a reserved connection; `done` is told once it has been let go. */
export class PostgresJsTransaction implements DriverTransaction {
  #released = false
  readonly #running = new Set<Query>()

  constructor(
    readonly reserved: ReservedSql<Record<string, unknown>>,
    readonly prepare: { prepare: boolean },
    readonly done: () => void,
  ) {}

  #release(): void {
    if (this.#released) return
    this.#released = true
    // Released inside a transaction (a failed ROLLBACK, one still running), postgres.js closes the
    // connection instead of pooling it, and the server rolls the transaction back.
    this.reserved.release()
    this.done()
  }

  async query(text: string, params: Params | undefined): Promise<QueryResult> {
    const query = this.reserved.unsafe(text, positional(params) as never[], this.prepare) as unknown as Query
    this.#running.add(query)
    try {
      return toResult(await query)
    } finally {
      this.#running.delete(query)
    }
  }

  async commit(): Promise<void> {
    let result: Results
    try {
      result = (await this.reserved.unsafe('COMMIT')) as unknown as Results
    } finally {
      this.#release()
    }
    // COMMIT of a transaction in which a statement failed rolls back, without an error.
    if ((result as { command?: string }).command === 'ROLLBACK') {
      throw Object.assign(
        new Error('COMMIT rolled the transaction back: a statement in it had failed (current transaction is aborted)'),
        { code: '25P02', severity: 'ERROR' },
      )
    }
  }

  async rollback(force = false): Promise<void> {
    if (!force) {
      try {
        await this.reserved.unsafe('ROLLBACK')
      } finally {
        this.#release()
      }
      return
    }
    // Forced: statements still running are canceled, and the ROLLBACK gets FORCED_ROLLBACK_MS; past
    // that the connection is let go in the transaction, so postgres.js closes it once they end.
    for (const query of this.#running) void query.cancel().catch(() => undefined)
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      this.reserved.unsafe('ROLLBACK').then(
        () => undefined,
        () => undefined,
      ),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, FORCED_ROLLBACK_MS))),
    ])
    clearTimeout(timer)
    this.#release()
  }
}
