// Rollback at leave (Invocation.end, called by InvocationLifecycle.leave): a transaction the
// function left open when it returned is rolled back before the call returns — no server backend
// is left idle in transaction, its uncommitted row never lands, and the transaction's handle, used
// afterwards, rejects with CLOSED instead of committing. Checked on a warm database (the invocations
// in flight own their work together) and on a request-scoped one (each invocation owns its own), and
// where the platform gives a waitUntil: the rollback is still not left to it.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, type Scope } from '@lazydb/core'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { adminClient, backendsOf, idleInTransaction, neonWs, terminateLeftovers, uniqueApp } from './pool-support.js'
import { settledWithin, within } from './support.js'

const pgUp = await requirePostgres()
const TABLE = `lazydb_rollback_leave_${process.pid}`

describe.skipIf(!pgUp)('a transaction the function left open', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client
  const apps: string[] = []

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    admin = await adminClient()
    await admin.query(`create table if not exists ${TABLE} (label text not null)`)
  })
  afterAll(async () => {
    for (const app of apps) await terminateLeftovers(admin, app)
    await admin?.query(`drop table if exists ${TABLE}`)
    await admin?.end()
    await gateway?.close()
  })

  const rowsLabelled = async (label: string) =>
    (await admin.query(`select 1 from ${TABLE} where label = $1`, [label])).rowCount

  for (const scope of ['warm', 'request'] as const satisfies readonly Scope[]) {
    it(`${scope}: is rolled back before the call returns; its handle then rejects with CLOSED`, async () => {
      const app = uniqueApp(`leave-${scope}`)
      apps.push(app)
      const registry = new Registry({
        database: neonWs(gateway, app, { max: 1, scope }),
        platform: 'node',
        warn: false,
      })
      const db = registry.database
      let resume!: () => void
      const paused = new Promise<void>((resolve) => (resume = resolve))
      let transaction: Promise<unknown> | undefined
      const invoke = handler(registry, async (label: string) => {
        let inserted!: () => void
        const insertDone = new Promise<void>((resolve) => (inserted = resolve))
        transaction = db.transaction(async (tx) => {
          await tx.query(`insert into ${TABLE} (label) values ($1)`, [label])
          inserted()
          await paused // the function returns meanwhile: the transaction is still open
          await tx.query(`insert into ${TABLE} (label) values ($1)`, [`${label}-after`])
          return 'committed'
        })
        transaction.catch(() => undefined)
        await insertDone
        expect(await idleInTransaction(admin, app)).toHaveLength(1) // open while the function runs
        return 'returned'
      })
      try {
        expect(await within(invoke(`left-open-${scope}`), 3000, 'the invocation')).toBe('returned')
        // Checked at once, no polling: the rollback happened before the call returned.
        expect(await idleInTransaction(admin, app)).toEqual([])
        expect((await backendsOf(admin, app)).filter((b) => b.state !== 'idle')).toEqual([])
        resume()
        const outcome = await settledWithin(transaction!, 3000)
        expect(outcome.status).toBe('rejected')
        const error = (outcome as { reason: unknown }).reason
        expect(error).toBeInstanceOf(LazyDbError)
        expect(error).toMatchObject({ code: 'CLOSED', database: 'default' })
        expect(await rowsLabelled(`left-open-${scope}`)).toBe(0)
        expect(await rowsLabelled(`left-open-${scope}-after`)).toBe(0)
        // The connection went back clean: the next invocation writes and commits normally.
        const commit = handler(registry, () =>
          db.transaction((tx) => tx.query(`insert into ${TABLE} (label) values ($1)`, [`next-${scope}`])),
        )
        await within(commit(), 3000, 'the next invocation')
        expect(await rowsLabelled(`next-${scope}`)).toBe(1)
        expect(await idleInTransaction(admin, app)).toEqual([])
      } finally {
        resume()
        await registry.disconnect()
      }
      expect(await waitForConnectionCount(0, app)).toBe(0)
    })
  }

  it('request, with a waitUntil: still rolled back, and the client closed, before the call returns', async () => {
    const app = uniqueApp('leave-wait-until')
    apps.push(app)
    const registry = new Registry({
      database: neonWs(gateway, app, { max: 1, scope: 'request' }),
      platform: 'node',
      warn: false,
    })
    const db = registry.database
    const handed: unknown[] = []
    const ctx = { waitUntil: (promise: unknown) => void handed.push(promise) }
    let resume!: () => void
    const paused = new Promise<void>((resolve) => (resume = resolve))
    let transaction: Promise<unknown> | undefined
    const invoke = handler(registry, async (label: string, _ctx: typeof ctx) => {
      let inserted!: () => void
      const insertDone = new Promise<void>((resolve) => (inserted = resolve))
      transaction = db.transaction(async (tx) => {
        await tx.query(`insert into ${TABLE} (label) values ($1)`, [label])
        inserted()
        await paused
        await tx.query(`insert into ${TABLE} (label) values ($1)`, [`${label}-after`])
      })
      transaction.catch(() => undefined)
      await insertDone
      return 'returned'
    })
    try {
      expect(await within(invoke('left-open-wait-until', ctx), 3000, 'the invocation')).toBe('returned')
      // Read before any I/O: the ROLLBACK round trip and the close had both happened when the call returned.
      expect(registry.stats().databases.default).toMatchObject({ connects: 1, closes: 1 })
      expect(await idleInTransaction(admin, app)).toEqual([])
      resume()
      expect(await settledWithin(transaction!, 3000)).toMatchObject({ status: 'rejected', reason: { code: 'CLOSED' } })
      expect(await rowsLabelled('left-open-wait-until')).toBe(0)
      await within(Promise.all(handed), 3000, 'what was handed to waitUntil')
    } finally {
      resume()
      await registry.disconnect()
    }
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })
})
