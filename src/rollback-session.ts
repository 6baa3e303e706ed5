// One database inside a rollback scope (test mode): one session holding one outer transaction that
// the scope rolls back at its end. Everything the database runs meanwhile goes through it, in order
// (one unit at a time, never two statements at once on the session): statements, batches (inside a
// savepoint, for atomicity), and transaction(fn) as a savepoint. A transaction owns the session until
// it ends: work started inside its fn (found through AsyncLocalStorage) goes ahead, other work waits
// for it, as it would wait for a lock on a real server, never interleaving with its savepoint.
import type { ClientSlot } from './client-slot.js'
import type { ContextStorage } from './context-storage.js'
import type { Begun, DatabaseRuntime } from './database-runtime.js'
import type { DriverTransaction } from './drivers/contract.js'
import { closedError, LazyDbError } from './errors.js'
import { Invocation } from './invocation.js'
import { rollbackClient } from './rollback-client.js'
import type { PlaceholderStyle } from './sql-template.js'
import { runTransaction } from './transaction.js'
import type { DriverName, Params, QueryResult, Statement, Transaction, TransactionOptions } from './types.js'

/** Carries a transaction's frame from `transaction()` to the `begin()` that runTransaction calls. */
export const FRAME: unique symbol = Symbol('lazydb.rollback-frame')

/** A transaction of the scope, as its savepoint: work started inside its fn runs with it as context. */
export class Frame {
  constructor(readonly parent: Frame | undefined) {}
}

/** Drivers where a failed statement aborts the whole transaction: each lone statement gets a savepoint. */
const ABORTS_ON_ERROR: ReadonlySet<DriverName> = new Set(['neon-http', 'neon-ws', 'pg', 'postgres'])

/** An owner that has ended: a lease taken for it belongs to nobody (the scope holds it itself). */
const NOBODY = new Invocation()
NOBODY.ended = true

const noop = (): void => undefined

export class RollbackSession {
  readonly runtime: DatabaseRuntime
  readonly #storage: ContextStorage<Frame> | undefined
  readonly #lockTimeoutMs: number
  readonly #abortsOnError: boolean
  #opening: Promise<Begun> | undefined = undefined
  #begun: Begun | undefined = undefined
  #tail: Promise<unknown> = Promise.resolve()
  /** Open transactions of the scope, innermost last. */
  readonly #stack: Frame[] = []
  readonly #waiters = new Set<() => void>()
  #savepoints = 0
  #closed = false
  #client: Promise<unknown> | undefined = undefined

  constructor(runtime: DatabaseRuntime, storage: ContextStorage<Frame> | undefined, lockTimeoutMs: number) {
    this.runtime = runtime
    this.#storage = storage
    this.#lockTimeoutMs = lockTimeoutMs
    this.#abortsOnError = ABORTS_ON_ERROR.has(runtime.driverName)
  }

  get alias(): string {
    return this.runtime.alias
  }

  // --- What the database's operations become ------------------------------------------------------

  async query(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    this.#refuseSchema(schema)
    this.runtime.stats.queries++
    try {
      return await this.statement((tx) => tx.query(text, params))
    } catch (error) {
      throw this.runtime.toError(error, 'statement')
    }
  }

  async batch(statements: readonly Statement[], schema: string | undefined): Promise<QueryResult[]> {
    this.#refuseSchema(schema)
    this.runtime.stats.queries += statements.length
    const at = this.#here()
    try {
      return await this.#when(
        () => this.#mayUse(at),
        () =>
          this.#serial((tx) =>
            this.#inSavepoint(tx, async () => {
              const results: QueryResult[] = []
              for (const s of statements) results.push(await tx.query(s.text, s.params))
              return results
            }),
          ),
      )
    } catch (error) {
      throw this.runtime.toError(error, 'statement')
    }
  }

  /** `transaction(fn)`: as without a scope, but `fn` runs with its frame as context. */
  transaction<T>(
    fn: (tx: Transaction) => Promise<T> | T,
    options: TransactionOptions | undefined,
    schema: string | undefined,
    style: PlaceholderStyle,
  ): Promise<T> {
    const storage = this.#storage
    if (storage === undefined) return runTransaction(this.runtime, fn, options, schema, style)
    const frame = new Frame(storage.getStore())
    const framed = (tx: Transaction) => storage.run(frame, fn, tx)
    return runTransaction(this.runtime, framed, { ...options, [FRAME]: frame } as TransactionOptions, schema, style)
  }

  /** The runtime's `begin`: a savepoint, once no other transaction of the scope holds the session. */
  async begin(options: TransactionOptions | undefined, schema: string | undefined): Promise<Begun> {
    this.#refuseSchema(schema)
    const frame = (options as { [FRAME]?: Frame } | undefined)?.[FRAME] ?? new Frame(this.#here())
    const name = this.#name()
    let slot: ClientSlot
    try {
      slot = await this.#when(
        () => this.#mayUse(frame.parent),
        () => {
          this.#stack.push(frame)
          return this.#serial(async (tx) => {
            await tx.query(`SAVEPOINT ${name}`, undefined)
            const held = this.#begun!.slot
            held.take('hold') // released by the transaction handle when it ends, as for any transaction
            return held
          })
        },
      )
    } catch (error) {
      this.#pop(frame)
      throw this.runtime.toError(error, 'begin')
    }
    return { slot, transaction: new SavepointTransaction(this, frame, name) }
  }

  /** `client()`: an object of the driver's kind that runs on the scope's session, or a clear refusal. */
  client(): Promise<unknown> {
    this.#client ??= this.#serial(async (tx) => rollbackClient(this, tx))
    const client = this.#client
    client.catch(() => (this.#client = undefined))
    return client
  }

  // --- Units of work on the session ---------------------------------------------------------------

  /** A lone statement: once no transaction it is not part of holds the session; on Postgres, in a savepoint. */
  statement<T>(work: (tx: DriverTransaction) => Promise<T>): Promise<T> {
    const at = this.#here()
    return this.#when(
      () => this.#mayUse(at),
      () => this.#serial((tx) => (this.#abortsOnError ? this.#inSavepoint(tx, () => work(tx)) : work(tx))),
    )
  }

  /** Runs `work` on the session after every unit queued before it. */
  serial<T>(work: (tx: DriverTransaction) => Promise<T>): Promise<T> {
    return this.#serial(work)
  }

  /**
   * A savepoint standing for a transaction an ORM opened on client(): like transaction(), it waits
   * until no other transaction of the scope holds the session, and holds it until `endFrame`.
   */
  async openSavepoint(): Promise<{ frame: Frame; name: string }> {
    const at = this.#here()
    const frame = new Frame(at)
    const name = this.#name()
    try {
      await this.#when(
        () => this.#mayUse(at),
        () => {
          this.#stack.push(frame)
          return this.#serial((tx) => tx.query(`SAVEPOINT ${name}`, undefined))
        },
      )
    } catch (error) {
      this.#pop(frame)
      throw error
    }
    return { frame, name }
  }

  /** Ends a savepoint (RELEASE, or ROLLBACK TO and RELEASE); a RELEASE that fails rolls it back. */
  async #endSavepoint(tx: DriverTransaction, name: string, commit: boolean): Promise<void> {
    if (!commit) return this.#undo(tx, name)
    try {
      await tx.query(`RELEASE SAVEPOINT ${name}`, undefined)
    } catch (error) {
      await this.#undo(tx, name).catch(noop)
      throw error
    }
  }

  /** Ends a transaction's savepoint once the transactions opened inside it have ended. */
  async endFrame(frame: Frame, name: string, commit: boolean, force: boolean): Promise<void> {
    const ready = () => this.#stack.at(-1) === frame || !this.#stack.includes(frame)
    if (!force) await this.#when(ready, async () => undefined).catch(noop)
    this.#pop(frame)
    await this.#serial((tx) => this.#endSavepoint(tx, name, commit))
  }

  /** Ends the session: waits for the work queued on it, rolls the outer transaction back, lets go of the client. */
  async close(): Promise<void> {
    this.#closed = true
    for (const wake of [...this.#waiters]) wake()
    await this.#tail
    const begun = this.#begun ?? (await this.#opening?.catch(() => undefined))
    this.#begun = undefined
    this.#opening = undefined
    if (begun === undefined) return
    try {
      await begun.transaction.rollback()
    } catch (error) {
      throw this.runtime.toError(error, 'in-transaction')
    } finally {
      begun.slot.releaseHold()
    }
  }

  // --- Inside -----------------------------------------------------------------------------------

  #serial<T>(work: (tx: DriverTransaction) => Promise<T>): Promise<T> {
    // Work queued before the scope ended still runs (and is rolled back with it); later work is refused.
    if (this.#closed) return Promise.reject(this.#endedError())
    const run = this.#tail.then(async () => {
      const { transaction } = await this.#open()
      return work(transaction)
    })
    this.#tail = run.then(noop, noop)
    return run
  }

  /** The outer transaction, begun on first use on a client held by the scope (not by an invocation). */
  #open(): Promise<Begun> {
    if (this.#begun !== undefined) return Promise.resolve(this.#begun)
    this.#opening ??= this.#begin().then(
      (begun) => (this.#begun = begun),
      (error: unknown) => {
        this.#opening = undefined
        throw error
      },
    )
    return this.#opening
  }

  async #begin(): Promise<Begun> {
    const slot: ClientSlot = await this.runtime.lease('hold', NOBODY)
    try {
      return { slot, transaction: await slot.client!.begin(undefined, undefined) }
    } catch (error) {
      slot.releaseHold()
      const mapped = this.runtime.toError(error, 'begin')
      if (mapped.code !== 'TRANSACTION_UNSUPPORTED') throw mapped
      throw new LazyDbError(
        'TRANSACTION_UNSUPPORTED',
        `database "${this.alias}" (${this.runtime.driverName}): a rollback scope runs every statement in one ` +
          `transaction, and this database cannot open one (${mapped.message}). For neon-http install ws or pass ` +
          "{ webSocketConstructor }; otherwise give the tests a driver that holds a session (driver: 'neon-ws', pg)",
        { database: this.alias, cause: mapped },
      )
    }
  }

  async #inSavepoint<T>(tx: DriverTransaction, work: () => Promise<T>): Promise<T> {
    const name = this.#name()
    await tx.query(`SAVEPOINT ${name}`, undefined)
    let result: T
    try {
      result = await work()
    } catch (error) {
      await this.#undo(tx, name).catch(noop)
      throw error
    }
    await tx.query(`RELEASE SAVEPOINT ${name}`, undefined)
    return result
  }

  async #undo(tx: DriverTransaction, name: string): Promise<void> {
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`, undefined)
    await tx.query(`RELEASE SAVEPOINT ${name}`, undefined)
  }

  #name(): string {
    return `lazydb_sp_${++this.#savepoints}`
  }

  /** The transaction whose fn the caller runs in: undefined outside any; where no storage tells, anywhere. */
  #here(): Frame | undefined {
    return this.#storage?.getStore()
  }

  /** No open transaction, or the innermost one is the caller's own (or one it runs inside of). */
  #mayUse(at: Frame | undefined): boolean {
    const top = this.#stack.at(-1)
    if (top === undefined || this.#storage === undefined || this.#closed) return true
    for (let frame = at; frame !== undefined; frame = frame.parent) if (frame === top) return true
    return false
  }

  #pop(frame: Frame): void {
    const at = this.#stack.lastIndexOf(frame)
    if (at < 0) return
    this.#stack.splice(at, 1)
    for (const wake of [...this.#waiters]) wake()
  }

  /**
   * Calls `then` once `ready()`: checked and called in one synchronous step, so nothing queued by
   * another waiter can come between. Waits at most lockTimeoutMs (a transaction whose fn waits for
   * work from outside it would otherwise hang).
   */
  async #when<T>(ready: () => boolean, then: () => Promise<T>): Promise<T> {
    while (!ready()) await this.#wait(ready)
    return then()
  }

  #wait(ready: () => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        if (!ready()) return
        this.#waiters.delete(wake)
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(wake)
        reject(this.#lockTimeout())
      }, this.#lockTimeoutMs)
      this.#waiters.add(wake)
    })
  }

  #lockTimeout(): LazyDbError {
    return new LazyDbError(
      'TIMEOUT',
      `database "${this.alias}": waited ${this.#lockTimeoutMs} ms in a rollback scope for a transaction this work is ` +
        'not part of. In the scope one session runs everything, so work from outside an open transaction waits ' +
        'for it to end. Await that transaction first, run the work through its tx, or raise lockTimeoutMs',
      { database: this.alias, mayHaveRun: false },
    )
  }

  #endedError(): LazyDbError {
    return closedError(
      this.alias,
      'the rollback scope this work belonged to has ended (its transaction was rolled back)',
      'Await the work inside withRollback(…), or before scope.end()',
    )
  }

  #refuseSchema(schema: string | undefined): void {
    if (schema === undefined) return
    throw new LazyDbError(
      'TRANSACTION_UNSUPPORTED',
      `database "${this.alias}": a schema view (using(name, { schema })) is not supported inside a rollback scope ` +
        'yet. Qualify the table names (schema.table) in these tests instead',
      { database: this.alias, mayHaveRun: false },
    )
  }
}

/** A user's transaction inside the scope: a savepoint on the scope's session. */
class SavepointTransaction implements DriverTransaction {
  readonly #session: RollbackSession
  readonly #frame: Frame
  readonly #name: string

  constructor(session: RollbackSession, frame: Frame, name: string) {
    this.#session = session
    this.#frame = frame
    this.#name = name
  }

  query(text: string, params: Params | undefined): Promise<QueryResult> {
    return this.#session.serial((tx) => tx.query(text, params))
  }

  commit(): Promise<void> {
    return this.#session.endFrame(this.#frame, this.#name, true, false)
  }

  rollback(force = false): Promise<void> {
    return this.#session.endFrame(this.#frame, this.#name, false, force)
  }
}
