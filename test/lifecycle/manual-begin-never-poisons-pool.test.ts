// A manual BEGIN sent through query() never poisons a pooled neon-ws connection: it is refused with
// LazyDbError TRANSACTION_UNSUPPORTED (transaction() is the way), so no connection goes back to the
// Pool inside an open transaction. Today it is accepted, the one connection of a max-1 pool stays
// `idle in transaction`, every later invocation's write runs inside that transaction, and the
// writes are lost when the pool closes. With a schema, the statement-scoped search_path must not
// outlive the statement either.
import { describe, expect, it } from 'vitest'
import { handler } from '@lazydb/core'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { poolSuite } from './pool-suite.js'
import { describeOutcome, idleInTransaction, settledWithin } from './pool-support.js'

const pgUp = await requirePostgres()

const DEADLINE_MS = 3000

describe.skipIf(!pgUp)('a manual BEGIN through query() on a neon-ws Pool', () => {
  const { admin, open, afterTest } = poolSuite()

  // max 1: every statement of every invocation shares the one server connection.
  const setup = (label: string) => open(label, { max: 1, scope: 'warm' })

  it.each(['begin', 'START TRANSACTION'])(
    'warm, max 1: query(%j) rejects TRANSACTION_UNSUPPORTED, and 20 later invocations each keep their row',
    async (statement) => {
      const { app, registry } = setup('begin')
      const table = `lazydb_pool_begin_${process.pid}_${app.split('-').at(-1)}`
      await admin.query(`create table ${table} (n int primary key)`)
      afterTest(() => admin.query(`drop table if exists ${table}`))
      const invoke = handler(registry, async (sql: string, params?: unknown[]) => registry.database.query(sql, params))

      const begin = await settledWithin(invoke(statement), DEADLINE_MS)
      // Soft: the data loss below is the consequence worth seeing when this fails.
      expect.soft(describeOutcome(begin)).toBe('rejected TRANSACTION_UNSUPPORTED')
      expect.soft(await idleInTransaction(admin, app), 'idle in transaction after the BEGIN').toEqual([])

      const inserts: string[] = []
      for (let n = 0; n < 20; n++) {
        inserts.push(describeOutcome(await settledWithin(invoke(`insert into ${table} values ($1)`, [n]), DEADLINE_MS)))
      }
      expect(inserts).toEqual(Array(20).fill('resolved'))
      expect.soft(await idleInTransaction(admin, app), 'idle in transaction after the inserts').toEqual([])

      expect(describeOutcome(await settledWithin(registry.disconnect(), DEADLINE_MS))).toBe('resolved')
      expect(await waitForConnectionCount(0, app)).toBe(0)
      const { rows } = await admin.query<{ n: number }>(`select count(*)::int as n from ${table}`)
      expect(rows[0]!.n, 'rows an independent client sees after disconnect').toBe(20)
    },
  )

  // using(undefined, { schema }).query('begin') is refused the same way, and the one pooled
  // connection's search_path is still the server default afterwards.
  it("with a schema: query('begin') rejects, search_path stays the server default", async () => {
    const { app, registry } = setup('schema')
    const schema = `lazydb_pool_schema_${process.pid}_${app.split('-').at(-1)}`
    await admin.query(`create schema ${schema}`)
    afterTest(() => admin.query(`drop schema if exists ${schema} cascade`))
    const { rows: defaults } = await admin.query<{ search_path: string }>('show search_path')
    const serverDefault = defaults[0]!.search_path
    expect(serverDefault).toBe('"$user", public')

    const invoke = handler(registry, async () => {
      const begin = await settledWithin(registry.using(undefined, { schema }).query('begin'), DEADLINE_MS)
      const shown = registry.database.query<{ search_path: string }>('show search_path')
      const path = await settledWithin(shown, DEADLINE_MS)
      return { begin, path }
    })
    const call = await settledWithin(invoke(), 2 * DEADLINE_MS)
    expect(call.state).toBe('resolved')
    const { begin, path } = (call as { value: Awaited<ReturnType<typeof invoke>> }).value
    expect.soft(describeOutcome(begin)).toBe('rejected TRANSACTION_UNSUPPORTED')
    expect.soft(await idleInTransaction(admin, app), 'idle in transaction after the BEGIN').toEqual([])
    expect(path).toMatchObject({ state: 'resolved', value: { rows: [{ search_path: serverDefault }] } })

    expect(describeOutcome(await settledWithin(registry.disconnect(), DEADLINE_MS))).toBe('resolved')
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })
})
