// An embedded database (a file, or :memory:) has one writer. @libsql/client opens a connection per
// transaction and SQLite refuses a second writer at once (SQLITE_BUSY), so concurrent transactions
// fail. lazydb gives writers turns instead: transactions and batches one at a time, in order, and a
// statement refused as busy while one is open waits for it. A wait is bounded, like SQLite's busy
// timeout: past it the statement fails as SQLITE_BUSY without having started.

/** How long a statement or transaction waits for its turn before it fails as busy. */
export const TURN_TIMEOUT_MS = 5000

type Grant = () => void

export class WriteTurns {
  #held = false
  readonly #queue: Grant[] = []

  /** Whether a writer holds the database now (statements must then wait). */
  get busy(): boolean {
    return this.#held
  }

  /** Resolves when it is the caller's turn; the caller must call `release()` after. */
  take(): Promise<void> {
    if (!this.#held) {
      this.#held = true
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      const grant: Grant = () => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        const index = this.#queue.indexOf(grant)
        if (index >= 0) this.#queue.splice(index, 1)
        reject(busyError())
      }, TURN_TIMEOUT_MS)
      this.#queue.push(grant)
    })
  }

  release(): void {
    const next = this.#queue.shift()
    if (next !== undefined) next()
    else this.#held = false
  }

  /** Runs `op` in a turn of its own. */
  async inTurn<T>(op: () => Promise<T>): Promise<T> {
    await this.take()
    try {
      return await op()
    } finally {
      this.release()
    }
  }
}

function busyError(): Error {
  const message =
    `SQLITE_BUSY: database is locked: a transaction held the embedded database for ${TURN_TIMEOUT_MS} ms ` +
    '(is a statement inside transaction() using db instead of tx?)'
  return Object.assign(new Error(message), { code: 'SQLITE_BUSY', rawCode: 5 })
}
