// DatabaseRuntime's recovery of a statement (or BEGIN) whose connection was gone before it was sent,
// with a scripted driver so each rule is seen alone: the statement runs once more (right away, not
// paced: the failure is not a refused connect); a socket client is replaced first (closed as 'lost'),
// while a pool or an HTTP client is kept as long as it says it is alive; a retry that fails reports its
// own error and leaves the fresh client alone unless that error too says the connection went; a
// retry cut off by a forced disconnect is CLOSED (may have run) and not counted as an error; the
// retried statement is a statement lease (disconnect still closes its client) and a retried BEGIN
// keeps its hold (the idle timer does not close the client under the transaction).
import { afterEach, describe, expect, it } from 'vitest'
import { LazyDbError, Registry, registerDriver, type CloseEvent, type RetryEvent } from '@lazydb/core'
import { type FakeShape, fakeDriver, gate, syntaxError, unsent } from './fake-driver.js'
import { rejectionWithin, sleep, within } from './support.js'

let cleanup: (() => Promise<void>) | undefined
afterEach(async () => {
  await cleanup?.()
  cleanup = undefined
})

let serial = 0
function setup(transport: 'ws' | 'http', shape: FakeShape = {}, idleTimeoutMs = 60_000) {
  const driver = fakeDriver(shape)
  registerDriver(driver)
  const closes: CloseEvent[] = []
  const retries: Omit<RetryEvent, 'error'>[] = []
  const errors: unknown[] = []
  const registry = new Registry({
    // A URL of its own per test: the warm cache is process-wide.
    database: `${transport}://fake-${process.pid}-${++serial}.test/app`,
    platform: 'node',
    warn: false,
    idleTimeoutMs,
    on: {
      close: (event) => void closes.push(event),
      retry: ({ error: _, ...event }) => void retries.push(event),
      error: (error) => void errors.push(error),
    },
  })
  cleanup = () => registry.disconnect({ force: true }).catch(() => undefined)
  const db = registry.database
  const stats = () => registry.stats().databases.default
  return { driver, registry, db, closes, retries, errors, stats }
}

const closed = (reason: CloseEvent['reason']): CloseEvent => ({ database: 'default', driver: 'libsql', reason })
const once: Omit<RetryEvent, 'error'>[] = [{ database: 'default', attempt: 1, delayMs: 0, reason: 'connection-lost' }]

describe('a statement whose connection was gone before it was sent', () => {
  it('socket client: replaced (closed as lost), the statement runs once more on the new one', async () => {
    const { driver, registry, db, closes, retries, errors, stats } = setup('ws')
    expect((await within(db.query('select 1'), 2000)).rows).toEqual([{ client: 1 }])
    driver.next.push(() => {
      throw unsent()
    })
    // The warm client is live: this is the hot path's own recovery.
    expect((await within(db.query('select 2'), 2000, 'the retried statement')).rows).toEqual([{ client: 2 }])
    expect(driver.clients.map((c) => c.texts)).toEqual([['select 1', 'select 2'], ['select 2']])
    expect(closes).toEqual([closed('lost')])
    expect(retries).toEqual(once)
    expect(errors).toEqual([])
    expect(stats()).toMatchObject({ connects: 2, closes: 1, retries: 1, errors: 0, queries: 2 })
    // The retry's lease ended with it: disconnect closes the new client now.
    await within(registry.disconnect(), 2000, 'disconnect after the retry')
    expect(closes).toEqual([closed('lost'), closed('disconnect')])
    expect(driver.clients.map((c) => c.closed)).toEqual([true, true])
  })

  for (const [what, transport, shape] of [
    ['socket pool that is alive', 'ws', { pooled: true, liveness: true }],
    ['HTTP client that is alive', 'http', { liveness: true }],
  ] as const) {
    it(`${what}: kept, the statement runs once more on it`, async () => {
      const { driver, db, closes, retries, stats } = setup(transport, shape)
      await within(db.query('select 1'), 2000)
      driver.next.push(() => {
        throw unsent()
      })
      expect((await within(db.query('select 2'), 2000, 'the retried statement')).rows).toEqual([{ client: 1 }])
      expect(driver.clients.map((c) => c.texts)).toEqual([['select 1', 'select 2', 'select 2']])
      expect(closes).toEqual([])
      expect(retries).toEqual(once)
      expect(stats()).toMatchObject({ connects: 1, closes: 0, errors: 0 })
    })
  }

  it('HTTP client that says it is dead after the failure: replaced as lost (not left to the stale check)', async () => {
    const { driver, db, closes, stats } = setup('http', { liveness: true })
    await within(db.query('select 1'), 2000)
    driver.next.push((client) => {
      client.alive = false
      throw unsent()
    })
    expect((await within(db.query('select 2'), 2000, 'the retried statement')).rows).toEqual([{ client: 2 }])
    expect(closes).toEqual([closed('lost')])
    expect(stats()).toMatchObject({ connects: 2, closes: 1, errors: 0 })
  })

  it('a retry that fails with its own error reports that error and keeps the fresh client', async () => {
    const { driver, db, closes, retries, stats } = setup('ws')
    await within(db.query('select 1'), 2000)
    driver.next.push(
      () => {
        throw unsent()
      },
      () => {
        throw syntaxError()
      },
    )
    const error = await rejectionWithin(db.query('selec 2'), 2000, 'the retried statement')
    expect(error).toBeInstanceOf(LazyDbError)
    expect((error as LazyDbError).message).toContain('syntax error near "selec"')
    expect((error as LazyDbError).message).not.toContain('connection gone')
    expect(retries).toEqual(once)
    // Only the first client was lost; the next statement runs on the fresh one.
    expect((await within(db.query('select 3'), 2000)).rows).toEqual([{ client: 2 }])
    expect(closes).toEqual([closed('lost')])
    expect(stats()).toMatchObject({ connects: 2, closes: 1, errors: 1 })
  })

  it('a retry cut off by disconnect({ force: true }) rejects CLOSED, may have run, and is no error', async () => {
    const { driver, registry, db, stats } = setup('ws')
    await within(db.query('select 1'), 2000)
    const started = gate()
    driver.next.push(
      () => {
        throw unsent()
      },
      () => {
        started.open()
        return new Promise(() => undefined) // answered only by the forced close
      },
    )
    const statement = db.query('update t set x = 1')
    await within(started.promise, 2000, 'the retry reaching the new client')
    await within(registry.disconnect({ force: true }), 2000, 'the forced disconnect')
    const error = await rejectionWithin(statement, 2000, 'the cut-off retry')
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error).toMatchObject({ code: 'CLOSED', mayHaveRun: true })
    expect(driver.clients.map((c) => c.closed)).toEqual([true, 'forced'])
    expect(stats()).toMatchObject({ errors: 0 })
  })
})

describe('a BEGIN whose connection was gone before it was sent', () => {
  it('is retried on a new client that stays held by the transaction (the idle timer does not close it)', async () => {
    const { driver, db, closes, retries } = setup('ws', {}, 100)
    await within(db.query('select 1'), 2000)
    driver.beginNext.push(() => {
      throw unsent()
    })
    const rows = await within(
      db.transaction(async (tx) => {
        await sleep(300) // past idleTimeoutMs: only the hold keeps the client
        return (await tx.query('select 2')).rows
      }),
      3000,
      'the transaction',
    )
    expect(rows).toEqual([{ client: 2 }])
    expect(driver.clients[1]!.texts).toEqual(['BEGIN', 'select 2', 'COMMIT'])
    expect(closes).toEqual([closed('lost')])
    expect(retries).toEqual(once)
  })

  it('request scope, no invocation: the one-off client closed at the failure, BEGIN runs on a new one', async () => {
    const driver = fakeDriver()
    registerDriver(driver)
    const registry = new Registry({
      database: `ws://one-off-${process.pid}.test/app`,
      platform: 'cloudflare',
      warn: false,
    })
    cleanup = () => registry.disconnect({ force: true }).catch(() => undefined)
    driver.beginNext.push(() => {
      throw unsent()
    })
    const rows = await within(
      registry.database.transaction(async (tx) => (await tx.query('select 1')).rows),
      2000,
      'the transaction outside any invocation',
    )
    expect(rows).toEqual([{ client: 2 }])
    expect(driver.clients.map((c) => c.texts)).toEqual([['BEGIN'], ['BEGIN', 'select 1', 'COMMIT']])
  })
})
