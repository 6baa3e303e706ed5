// What a tracer (any { trace(operation, run) }) and the query/connect hooks are told, seen with a
// scripted driver: every statement is traced, the hot path included (tracing or a query hook turns it
// off), and so are a batch (even an empty one), a transaction and its statements, a connect and a
// retry's wait; each operation names the database, the driver and where the server is (host, port,
// database name from the URL; the file for an embedded one) and carries the SQL only where there is
// one. Hook durations are the operation's own time, never more than the caller waited.
import { afterEach, describe, expect, it } from 'vitest'
import { LazyDbError, Registry, registerDriver, type TracedOperation } from '@lazydb/core'
import type { ConnectEvent, QueryEvent } from '@lazydb/core'
import { fakeDriver, syntaxError, unsent } from './fake-driver.js'
import { within } from './support.js'

let cleanup: (() => Promise<void>) | undefined
afterEach(async () => {
  await cleanup?.()
  cleanup = undefined
})

function traced(url: string) {
  const driver = fakeDriver()
  registerDriver(driver)
  const ops: TracedOperation[] = []
  const tracing = { trace: <T>(op: TracedOperation, run: () => Promise<T>) => (ops.push(op), run()) }
  const registry = new Registry({ database: url, platform: 'node', warn: false, tracing })
  cleanup = () => registry.disconnect({ force: true }).catch(() => undefined)
  return { driver, db: registry.database, ops }
}

const PLACE_KEYS = ['serverAddress', 'serverPort', 'namespace']
const placeOf = (op: TracedOperation) =>
  Object.fromEntries(Object.entries(op).filter(([key]) => PLACE_KEYS.includes(key)))

describe('tracing', () => {
  it('traces every statement, a batch, a transaction, a connect and a retry, each naming where', async () => {
    const { driver, db, ops } = traced('ws://db.example.test:8080/app%20db')
    await within(db.query('select 1'), 2000)
    await within(db.query('select 2'), 2000)
    driver.next.push(() => {
      throw unsent()
    })
    await within(db.query('select 3'), 2000)
    await within(db.batch([{ text: 'insert a' }, { text: 'insert b' }]), 2000)
    expect(await within(db.batch([]), 2000)).toEqual([])
    await within(
      db.transaction(async (tx) => tx.query('select 4')),
      2000,
    )
    const at = { database: 'default', driver: 'libsql', serverAddress: 'db.example.test', serverPort: 8080 }
    const base = { ...at, namespace: 'app db' }
    expect(ops).toEqual([
      { kind: 'statement', ...base, text: 'select 1' },
      { kind: 'connect', ...base },
      { kind: 'statement', ...base, text: 'select 2' },
      { kind: 'statement', ...base, text: 'select 3' },
      { kind: 'retry', ...base, retry: { attempt: 1, delayMs: 0, reason: 'connection-lost' } },
      { kind: 'connect', ...base },
      { kind: 'batch', ...base, text: 'insert a', statements: 2 },
      { kind: 'batch', ...base, statements: 0 },
      { kind: 'transaction', ...base },
      { kind: 'statement', ...base, text: 'select 4' },
    ])
    // No text key at all where there is no SQL.
    expect(ops.map((op) => 'text' in op)).toEqual([true, false, true, true, false, false, true, false, false, true])
  })

  for (const [url, place] of [
    [':memory:', { namespace: ':memory:' }],
    ['file:/tmp/lazydb-never-opened.db', { namespace: '/tmp/lazydb-never-opened.db' }],
    ['http://db.example.test', { serverAddress: 'db.example.test' }],
    ['libsql://db.example.test:9000/', { serverAddress: 'db.example.test', serverPort: 9000 }],
  ] as const) {
    it(`${url}: the operation's place is ${JSON.stringify(place)}`, async () => {
      const { db, ops } = traced(url)
      await within(db.query('select 1'), 2000)
      expect(ops.map((op) => op.kind)).toEqual(['statement', 'connect'])
      for (const op of ops) expect(placeOf(op)).toStrictEqual(place)
    })
  }
})

describe('the query and connect hooks', () => {
  it('see every statement, with durations no longer than the caller waited', async () => {
    const driver = fakeDriver()
    registerDriver(driver)
    const queries: QueryEvent[] = []
    const connects: ConnectEvent[] = []
    const registry = new Registry({
      database: `ws://hooks-${process.pid}.test/app`,
      platform: 'node',
      warn: false,
      on: { query: (event) => void queries.push(event), connect: (event) => void connects.push(event) },
    })
    cleanup = () => registry.disconnect({ force: true }).catch(() => undefined)
    const db = registry.database
    const timed = async (run: () => Promise<unknown>) => {
      const [started, startedAt] = [performance.now(), Date.now()]
      const error = await run().then(
        () => undefined,
        (reason: unknown) => reason,
      )
      return { elapsed: performance.now() - started, wall: Date.now() - startedAt, error }
    }
    const first = await timed(() => db.query('select 1'))
    const second = await timed(() => db.query('select 2'))
    driver.next.push(() => {
      throw syntaxError()
    })
    const third = await timed(() => db.query('selec 3'))
    expect(third.error).toBeInstanceOf(LazyDbError)
    expect(queries.map((q) => [q.text, q.error === undefined])).toEqual([
      ['select 1', true],
      ['select 2', true],
      ['selec 3', false],
    ])
    queries.forEach((query, i) => {
      expect(query.durationMs).toBeGreaterThanOrEqual(0)
      expect(query.durationMs).toBeLessThanOrEqual([first, second, third][i]!.elapsed)
    })
    expect(connects).toHaveLength(1)
    expect(connects[0]).toMatchObject({ database: 'default', driver: 'libsql', scope: 'warm' })
    expect(connects[0]!.durationMs).toBeGreaterThanOrEqual(0)
    expect(connects[0]!.durationMs).toBeLessThanOrEqual(first.wall)
  })
})
