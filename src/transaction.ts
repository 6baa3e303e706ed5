// Interactive transactions: a hold on a client for the whole of `fn`, the `tx` handle `fn` gets, and
// the owner that rolls it back if it is still open when the owner ends.
import type { ClientSlot, OpenTransaction } from './client-slot.js'
import type { DatabaseRuntime } from './database-runtime.js'
import type { DriverTransaction } from './drivers/contract.js'
import { closedError, detached } from './errors.js'
import type { Abandonable, Invocation } from './invocation.js'
import { queryArgumentsError } from './options.js'
import { templateText, type PlaceholderStyle } from './sql-template.js'
import type { Params, QueryResult, Transaction, TransactionOptions } from './types.js'

/** `transaction(fn)`: traced as one operation (its statements inside it) where tracing is set. */
export function runTransaction<T>(
  runtime: DatabaseRuntime,
  fn: (tx: Transaction) => Promise<T> | T,
  options: TransactionOptions | undefined,
  schema: string | undefined,
  style: PlaceholderStyle,
): Promise<T> {
  return runtime.traced('transaction', () => inTransaction(runtime, fn, options, schema, style))
}

async function inTransaction<T>(
  runtime: DatabaseRuntime,
  fn: (tx: Transaction) => Promise<T> | T,
  options: TransactionOptions | undefined,
  schema: string | undefined,
  style: PlaceholderStyle,
): Promise<T> {
  // Taken before begin(), which may take round trips: an owner that ends meanwhile still rolls it back.
  const owner = runtime.currentOwner()
  const opening = openTransaction(runtime, owner, options, schema, style)
  owner?.awaitOpening(opening)
  const tx = await opening
  try {
    const result = await fn(tx)
    await tx.commit()
    return result
  } catch (error) {
    await tx.abandon(false)
    throw error
  } finally {
    owner?.untrack(tx)
  }
}

/** BEGIN, then the owner tracks the transaction, or rolls it back when it ended meanwhile. */
async function openTransaction(
  runtime: DatabaseRuntime,
  owner: Invocation | undefined,
  options: TransactionOptions | undefined,
  schema: string | undefined,
  style: PlaceholderStyle,
): Promise<TransactionHandle> {
  const { slot, transaction } = await runtime.begin(owner, options, schema)
  const tx = new TransactionHandle(transaction, runtime, style, slot)
  if (owner?.ended === true) await tx.abandon(false)
  else owner?.track(tx)
  return tx
}

/**
 * The `tx` handed to `transaction(fn)`; closed once committed, rolled back or abandoned, which also
 * ends its hold on the client (so an owner that rolls it back can close the client at once).
 */
class TransactionHandle implements Transaction, Abandonable, OpenTransaction {
  readonly #driverTx: DriverTransaction
  readonly #runtime: DatabaseRuntime
  readonly #style: PlaceholderStyle
  #slot: ClientSlot | undefined
  #done = false
  /** Rolled back at once under running work (a forced close, a timeout): that work reports CLOSED. */
  #dropped = false

  constructor(driverTx: DriverTransaction, runtime: DatabaseRuntime, style: PlaceholderStyle, slot: ClientSlot) {
    this.#driverTx = driverTx
    this.#runtime = runtime
    this.#style = style
    this.#slot = slot
    slot.transactions.add(this)
  }

  async query<Row = Record<string, unknown>>(text: string, params?: Params): Promise<QueryResult<Row>> {
    if (!(this instanceof TransactionHandle)) throw detached('query', 'tx')
    const bad = queryArgumentsError(this.#runtime.alias, text, params)
    if (bad !== undefined) throw bad
    if (this.#done) throw ended(this.#runtime.alias)
    this.#runtime.stats.queries++
    if (this.#runtime.tracing === undefined) return this.#run<Row>(text, params)
    return this.#runtime.traced('statement', () => this.#run<Row>(text, params), text)
  }

  async #run<Row>(text: string, params: Params | undefined): Promise<QueryResult<Row>> {
    try {
      return (await this.#driverTx.query(text, params)) as QueryResult<Row>
    } catch (error) {
      throw this.#runtime.toError(error, 'in-transaction', this.#dropped)
    }
  }

  sql<Row = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<QueryResult<Row>> {
    if (!(this instanceof TransactionHandle)) return Promise.reject(detached('sql', 'tx'))
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
      throw this.#runtime.toError(error, 'in-transaction', this.#dropped)
    } finally {
      this.#release()
    }
  }

  /** Rolls back (`force`: at once, dropping the session, under a statement that may still run). */
  async abandon(force: boolean): Promise<void> {
    if (this.#done) {
      if (!force || this.#dropped || this.#slot === undefined) return
      // A commit or rollback is under way: force drops the session under it.
    }
    this.#done = true
    if (force) this.#dropped = true
    try {
      await this.#driverTx.rollback(force)
    } catch {
      // The connection is gone or the server already rolled back: nothing is left open either way.
    } finally {
      this.#release()
    }
  }

  #release(): void {
    const slot = this.#slot
    if (slot === undefined) return
    this.#slot = undefined
    slot.transactions.delete(this)
    slot.releaseHold()
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
