// Interactive transactions: a hold on a client for the whole of `fn`, the `tx` handle `fn` gets, and
// the owner that rolls it back if it is still open when the owner ends.
import type { ClientSlot } from './client-slot.js'
import type { DatabaseRuntime } from './database-runtime.js'
import type { DriverTransaction } from './drivers/contract.js'
import { closedError } from './errors.js'
import type { Abandonable } from './invocation.js'
import { queryArgumentsError } from './options.js'
import { templateText, type PlaceholderStyle } from './sql-template.js'
import type { Params, QueryResult, Transaction, TransactionOptions } from './types.js'

export async function runTransaction<T>(
  runtime: DatabaseRuntime,
  fn: (tx: Transaction) => Promise<T> | T,
  options: TransactionOptions | undefined,
  schema: string | undefined,
  style: PlaceholderStyle,
): Promise<T> {
  // Taken before begin(), which may take round trips: an owner that ends meanwhile still rolls it back.
  const owner = runtime.currentOwner()
  const { slot, transaction } = await runtime.begin(owner, options, schema)
  const tx = new TransactionHandle(transaction, runtime, style, slot)
  if (owner?.ended === true) await tx.abandon()
  else owner?.track(tx)
  try {
    const result = await fn(tx)
    await tx.commit()
    return result
  } catch (error) {
    await tx.abandon()
    throw error
  } finally {
    owner?.untrack(tx)
  }
}

/**
 * The `tx` handed to `transaction(fn)`; closed once committed, rolled back or abandoned, which also
 * ends its hold on the client (so an owner that rolls it back can close the client at once).
 */
class TransactionHandle implements Transaction, Abandonable {
  readonly #driverTx: DriverTransaction
  readonly #runtime: DatabaseRuntime
  readonly #style: PlaceholderStyle
  #slot: ClientSlot | undefined
  #done = false

  constructor(driverTx: DriverTransaction, runtime: DatabaseRuntime, style: PlaceholderStyle, slot: ClientSlot) {
    this.#driverTx = driverTx
    this.#runtime = runtime
    this.#style = style
    this.#slot = slot
  }

  async query<Row = Record<string, unknown>>(text: string, params?: Params): Promise<QueryResult<Row>> {
    const bad = queryArgumentsError(this.#runtime.alias, text, params)
    if (bad !== undefined) throw bad
    if (this.#done) throw ended(this.#runtime.alias)
    this.#runtime.stats.queries++
    try {
      return (await this.#driverTx.query(text, params)) as QueryResult<Row>
    } catch (error) {
      throw this.#runtime.toError(error, 'statement', this.#done)
    }
  }

  sql<Row = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<QueryResult<Row>> {
    try {
      return this.query<Row>(templateText(strings, this.#style, this.#runtime.alias), values)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async commit(): Promise<void> {
    if (this.#done) throw ended(this.#runtime.alias)
    this.#done = true
    try {
      await this.#driverTx.commit()
    } catch (error) {
      throw this.#runtime.toError(error, 'statement', this.#slot?.forced === true)
    } finally {
      this.#release()
    }
  }

  async abandon(): Promise<void> {
    if (this.#done) return
    this.#done = true
    try {
      await this.#driverTx.rollback()
    } catch {
      // The connection is gone or the server already rolled back: nothing is left open either way.
    } finally {
      this.#release()
    }
  }

  #release(): void {
    this.#slot?.releaseHold()
    this.#slot = undefined
  }
}

function ended(alias: string): Error {
  return closedError(
    alias,
    'this transaction has already ended (committed, rolled back, or rolled back by handler() when the ' +
      'invocation ended)',
    'Await db.transaction(…) inside the handler',
  )
}
