// The error a transaction's statement gets when its connection goes away says why (README, Errors):
// CLOSED when lazydb closed the client under it (disconnect({ force: true })) — whether the statement
// was in flight or came after — and CONNECTION_LOST when the connection broke (its backend killed),
// never a QUERY_FAILED naming the driver's internals. The transaction itself rejects with the same code,
// and nothing of it is committed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { createClient } from '@libsql/client'
import { requirePostgres } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import { poolSuite } from './pool-suite.js'
import { backendsOf, type Outcome, settledWithin, sleep, track, type Tracked } from './pool-support.js'

const pgUp = await requirePostgres()

/** 'CODE mayHaveRun=…' for a LazyDbError, 'pending', 'resolved', or what else it rejected with. */
function shown(outcome: Outcome<unknown>): string {
  if (outcome.state !== 'rejected') return outcome.state
  const e = outcome.error
  return e instanceof LazyDbError ? `${e.code} mayHaveRun=${e.mayHaveRun}` : `not a LazyDbError: ${String(e)}`
}

/** A gate the transaction fn waits on, so the test acts between two of its statements. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((resolve) => (open = resolve))
  return { wait, open }
}

describe.skipIf(!pgUp)('neon-ws: codes for a transaction cut off', () => {
  const { admin, open } = poolSuite()
  const table = `lazydb_rv_tx_codes_${process.pid}`

  beforeAll(async () => {
    await admin.query(`create table ${table} (tag text not null)`)
  })
  afterAll(async () => {
    await admin.query(`drop table if exists ${table}`)
  })

  const setup = (label: string) => open(label, { scope: 'warm' })
  const insert = (app: string) => `insert into ${table} (tag) values ('${app}')`
  const rowsOf = async (app: string) =>
    (await admin.query<{ n: number }>(`select count(*)::int as n from ${table} where tag = $1`, [app])).rows[0]!.n

  it('a tx.query in flight during disconnect({ force: true }) → CLOSED (mayHaveRun true)', async () => {
    const { app, registry } = setup('codes-inflight')
    let inFlight: Tracked<unknown> | undefined
    const transaction = track(
      registry.database.transaction(async (tx) => {
        await tx.query(insert(app))
        inFlight = track(tx.query('select pg_sleep(1)'))
        await inFlight.promise
      }),
    )
    await sleep(300)
    await settledWithin(registry.disconnect({ force: true }), 2000)
    await settledWithin(transaction.promise, 1000)
    expect(shown(inFlight!.outcome)).toBe('CLOSED mayHaveRun=true')
    expect(shown(transaction.outcome)).toBe('CLOSED mayHaveRun=true')
    expect(await rowsOf(app)).toBe(0)
  })

  it('a tx.query after disconnect({ force: true }) → CLOSED (mayHaveRun false: it never started)', async () => {
    const { app, registry } = setup('codes-after')
    const between = gate()
    let after: Tracked<unknown> | undefined
    const transaction = track(
      registry.database.transaction(async (tx) => {
        await tx.query(insert(app))
        await between.wait
        after = track(tx.query(insert(app)))
        await after.promise
      }),
    )
    await sleep(200)
    await settledWithin(registry.disconnect({ force: true }), 2000)
    between.open()
    await settledWithin(transaction.promise, 1000)
    expect(shown(after!.outcome)).toBe('CLOSED mayHaveRun=false')
    expect(shown(transaction.outcome)).toMatch(/^CLOSED /)
    expect(await rowsOf(app)).toBe(0)
  })

  it('its backend killed mid-transaction → CONNECTION_LOST for the statement and the transaction', async () => {
    const { app, registry } = setup('codes-killed')
    const between = gate()
    let after: Tracked<unknown> | undefined
    const transaction = track(
      registry.database.transaction(async (tx) => {
        await tx.query(insert(app))
        await between.wait
        after = track(tx.query(insert(app)))
        await after.promise
      }),
    )
    await sleep(200)
    const [backend] = await backendsOf(admin, app)
    expect(backend?.state).toBe('idle in transaction')
    await admin.query('select pg_terminate_backend($1)', [backend!.pid])
    await sleep(200) // the client sees its socket close
    between.open()
    await settledWithin(transaction.promise, 2000)
    expect(shown(after!.outcome)).toMatch(/^CONNECTION_LOST /)
    expect(shown(transaction.outcome)).toMatch(/^CONNECTION_LOST /)
    expect(await rowsOf(app)).toBe(0)
    // The Pool lost one connection and serves the next statement on a new one.
    expect(shown(await settledWithin(registry.database.query('select 1'), 2000))).toBe('resolved')
  })

  it('its backend killed while a tx.query runs → CONNECTION_LOST (mayHaveRun true)', async () => {
    const { app, registry } = setup('codes-killed-inflight')
    let inFlight: Tracked<unknown> | undefined
    const transaction = track(
      registry.database.transaction(async (tx) => {
        await tx.query(insert(app))
        inFlight = track(tx.query('select pg_sleep(2)'))
        await inFlight.promise
      }),
    )
    const deadline = Date.now() + 3000
    let backend: { pid: number } | undefined
    while (backend === undefined && Date.now() < deadline) {
      backend = (await backendsOf(admin, app)).find((b) => b.state === 'active' && b.query.includes('pg_sleep'))
      if (backend === undefined) await sleep(20)
    }
    await admin.query('select pg_terminate_backend($1)', [backend!.pid])
    await settledWithin(transaction.promise, 2000)
    expect(shown(inFlight!.outcome)).toBe('CONNECTION_LOST mayHaveRun=true')
    expect(shown(transaction.outcome)).toMatch(/^CONNECTION_LOST /)
    expect(await rowsOf(app)).toBe(0)
  })
})

describe('embedded libSQL: a tx.query after disconnect({ force: true })', () => {
  const files = tempDir('lazydb-tx-codes-')
  afterAll(() => files.remove())

  it('→ CLOSED, not QUERY_FAILED; nothing of the transaction is committed', async () => {
    const url = `file:${files.file('codes.db')}`
    const registry = new Registry({ database: libsql(url), platform: 'node', warn: false })
    await registry.database.query('create table t (x integer)')
    let after: Tracked<unknown> | undefined
    const transaction = track(
      registry.database.transaction(async (tx) => {
        await tx.query('insert into t values (1)')
        await registry.disconnect({ force: true })
        after = track(tx.query('insert into t values (2)'))
        await after.promise
      }),
    )
    await settledWithin(transaction.promise, 2000)
    expect(shown(after!.outcome)).toBe('CLOSED mayHaveRun=false')
    expect(shown(transaction.outcome)).toMatch(/^CLOSED /)
    const other = createClient({ url })
    try {
      expect((await other.execute('select count(*) as n from t')).rows[0]!.n).toBe(0)
    } finally {
      other.close()
    }
    await registry.disconnect()
  })
})
