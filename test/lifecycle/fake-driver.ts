// A scripted driver for the runtime's own rules (which client a statement, a retry or a BEGIN gets, which
// client is replaced, who holds one), with no server in the way: each client is a plain object that
// records what reached it, and the test says what the next statements and BEGINs do. It is registered
// under the libsql name (a ws:// URL is a socket, http:// is not): a file using it must not use the real
// libSQL driver. It has no validate(): the contract makes it optional. After the file the real libSQL
// driver is registered again, in case a runner shares the driver table between files.
import { afterAll } from 'vitest'
import { registerDriver } from '@lazydb/core'
import type { Driver, DriverClient, DriverName, DriverTransaction, ErrorInfo, QueryResult } from '@lazydb/core'

afterAll(async () => {
  const { libsqlDriver } = await import('@lazydb/core/libsql')
  registerDriver(libsqlDriver)
})

export class FakeError extends Error {
  readonly info: ErrorInfo
  constructor(message: string, info: ErrorInfo) {
    super(message)
    this.info = info
  }
}

/** The connection was gone before the statement left: safe to run again. */
export const unsent = () => new FakeError('connection gone before the statement was sent', { notSent: true })
/** The connection broke while the statement may have run. */
export const maybeRan = () => new FakeError('connection broke mid-statement', { lostMaybeRun: true })
export const syntaxError = () => new FakeError('syntax error near "selec"', { sqlState: '42601' })

export interface FakeClient extends DriverClient {
  readonly id: number
  /** false while open; 'forced' when closed with force. */
  closed: boolean | 'forced'
  alive: boolean
  readonly texts: string[]
}

/** What one statement (or BEGIN) does on `client`: its row, a thrown error, or a promise of either. */
export type Step = (client: FakeClient) => unknown

export interface FakeDriver extends Driver {
  readonly clients: FakeClient[]
  /** Taken one per statement, in order; with none left a statement returns `{ client: id }`. */
  readonly next: Step[]
  /** Taken one per BEGIN, in order; with none left BEGIN works. */
  readonly beginNext: Step[]
  closeFails: boolean
}

export interface FakeShape {
  name?: DriverName
  /** Clients have isAlive() (reading `alive`). */
  liveness?: boolean
  pooled?: boolean
}

export function fakeDriver(shape: FakeShape = {}): FakeDriver {
  const driver: FakeDriver = {
    name: shape.name ?? 'libsql',
    clients: [],
    next: [],
    beginNext: [],
    closeFails: false,
    async connect() {
      const client = fakeClient(driver, driver.clients.length + 1, shape)
      driver.clients.push(client)
      return client
    },
    classify: (error) => (error instanceof FakeError ? error.info : {}),
  }
  return driver
}

/** A promise and its resolve, for a statement held open until the test lets it finish. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

function fakeClient(driver: FakeDriver, id: number, shape: FakeShape): FakeClient {
  // Work in flight, rejected by a forced close as a real driver's socket would.
  const pending = new Set<(error: Error) => void>()
  const perform = (step: Step | undefined): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (client.closed !== false) {
        reject(new Error('the client is closed'))
        return
      }
      pending.add(reject)
      Promise.resolve()
        .then(() => (step === undefined ? { client: id } : step(client)))
        .then(resolve, reject)
        .finally(() => pending.delete(reject))
    })
  const toResult = (native: unknown): QueryResult => {
    const row = native as Record<string, unknown>
    return { rows: [row], rowCount: 1, columns: Object.keys(row) }
  }
  const client: FakeClient = {
    id,
    closed: false,
    alive: true,
    texts: [],
    raw: { fake: id },
    execute(text) {
      client.texts.push(text)
      return perform(driver.next.shift())
    },
    toResult,
    async batch(statements) {
      const results: QueryResult[] = []
      for (const s of statements) results.push(toResult(await client.execute(s.text, s.params, undefined)))
      return results
    },
    async begin(): Promise<DriverTransaction> {
      client.texts.push('BEGIN')
      await perform(driver.beginNext.shift())
      return {
        query: async (text) => {
          client.texts.push(text)
          return toResult(await perform(undefined))
        },
        commit: async () => void client.texts.push('COMMIT'),
        rollback: async () => void client.texts.push('ROLLBACK'),
      }
    },
    async close(force) {
      client.closed = force ? 'forced' : true
      if (force) for (const reject of pending) reject(new Error('closed under the statement'))
      if (driver.closeFails) throw new Error('the server did not answer the close')
    },
    ...(shape.liveness === true ? { isAlive: () => client.alive } : {}),
    ...(shape.pooled === undefined ? {} : { pooled: shape.pooled }),
  }
  return client
}
