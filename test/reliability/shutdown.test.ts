// Shutdown that cannot leak: every way out of handler() — return, throw, timeout abort — closes the
// invocation's request-scoped connections and rolls back the transactions it left open, checked
// on the real PostgreSQL (pg_stat_activity) and at the WebSocket gateway; and disconnect() closes
// everything it can and reports every failure (two failing closes, on libSQL files).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, type Transaction } from '@lazydb/core'
import type { Client } from '@libsql/client'
import { libsql } from '@lazydb/core/libsql'
import { neon } from '@lazydb/core/neon'
import type pg from 'pg'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgConnectionCount, pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import { pgAdmin } from './support.js'

const pgUp = await requirePostgres()
const APP = `lazydb-shutdown-${process.pid}`
const TABLE = `lazydb_rel_shutdown_${process.pid}`
const wsUrl = (app: string) =>
  `${pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: app })}&transport=ws`

type Scope = 'request' | 'warm'

describe.skipIf(!pgUp)(
  'shutdown: every path out of handler() closes request connections and rolls back open transactions',
  () => {
    let gateway: NeonWsGateway
    let admin: pg.Client
    const registries: Registry[] = []

    beforeAll(async () => {
      gateway = await startNeonWsGateway()
      admin = await pgAdmin()
      await admin.query(`drop table if exists ${TABLE}`)
      await admin.query(`create table ${TABLE} (v text)`)
    })
    afterAll(async () => {
      await Promise.all(registries.map((r) => r.disconnect({ force: true }).catch(() => undefined)))
      await admin?.query(`drop table if exists ${TABLE}`)
      await admin?.end()
      await gateway?.close()
    })

    function registry(app: string, scope: Scope): Registry {
      const r = new Registry({
        database: neon(wsUrl(app), {
          wsProxy: gateway.wsProxy,
          useSecureWebSocket: false,
          pipelineConnect: false,
          scope,
          transport: 'ws',
        }),
        platform: 'node',
        warn: false,
      })
      registries.push(r)
      return r
    }

    const rows = async (v: string) => (await admin.query(`select v from ${TABLE} where v = $1`, [v])).rowCount
    const inTransaction = async (app: string) =>
      (
        await admin.query(
          "select 1 from pg_stat_activity where application_name = $1 and state like 'idle in transaction%'",
          [app],
        )
      ).rowCount

    for (const scope of ['request', 'warm'] as const) {
      for (const path of ['return', 'throw', 'timeout'] as const) {
        it(
          `${scope} scope, ${path}: the transaction fn left open is rolled back` +
            `${scope === 'request' ? ', its connection closed' : ''}; 0 connections leaked`,
          async () => {
            const app = `${APP}-${scope}-${path}`
            const r = registry(app, scope)
            const db = r.database
            const value = `${scope}-${path}`
            const mine = new Error('fn failed')
            let release!: () => void
            const gate = new Promise<void>((resolve) => (release = resolve))
            let txOutcome: unknown
            let afterwards: unknown
            const fn = handler(
              r,
              async () => {
                await db.query('select 1') // a connection of this invocation (request scope), or the warm one
                let inserted!: () => void
                const insertedP = new Promise<void>((resolve) => (inserted = resolve))
                // A transaction fn starts and does not await: still open when fn is done.
                const tx = db
                  .transaction(async (t: Transaction) => {
                    await t.query(`insert into ${TABLE} values ($1)`, [value])
                    inserted()
                    await gate
                    await t.query('select 1') // after the invocation ended: the transaction is gone
                  })
                  .then(
                    () => (txOutcome = 'committed'),
                    (e: unknown) => (txOutcome = e),
                  )
                await insertedP
                expect(await rows(value)).toBe(0) // not committed
                expect(await inTransaction(app)).toBe(1)
                if (path === 'throw') throw mine
                if (path === 'timeout') {
                  await gate // never before the timeout
                  await tx
                  afterwards = await db.query<{ x: number }>('select 2 as x').then(
                    (res) => res.rows,
                    (e: unknown) => e,
                  )
                }
                return 'done'
              },
              path === 'timeout' ? { timeoutMs: 300 } : undefined,
            )

            const started = performance.now()
            const outcome = await fn().then(
              (v) => v,
              (e: unknown) => e,
            )
            const elapsed = performance.now() - started
            if (path === 'return') expect(outcome).toBe('done')
            if (path === 'throw') expect(outcome).toBe(mine)
            if (path === 'timeout') {
              expect(outcome).toBeInstanceOf(LazyDbError)
              expect(outcome).toMatchObject({ code: 'TIMEOUT' })
              expect((outcome as Error).message).toMatch(
                /timeoutMs \(300 ms\).*Raise timeoutMs or make the function faster/,
              )
              expect(elapsed).toBeGreaterThanOrEqual(290)
              expect(elapsed).toBeLessThan(2000)
            }

            // Settled when handler() settled: rolled back, nothing left in a transaction.
            expect(await inTransaction(app)).toBe(0)
            expect(await rows(value)).toBe(0)
            if (scope === 'request') expect(await waitForConnectionCount(0, app)).toBe(0)
            else expect(await pgConnectionCount(app)).toBe(1) // the warm connection, kept, idle

            // What fn does after its invocation ended: the transaction handle is closed; a new query
            // gets a connection of its own (request scope), closed after it.
            release()
            await expect.poll(() => txOutcome !== undefined).toBe(true)
            expect(txOutcome).toMatchObject({ code: 'CLOSED' })
            if (path === 'timeout') {
              await expect.poll(() => afterwards !== undefined).toBe(true)
              expect(afterwards).toEqual([{ x: 2 }])
            }
            expect(await rows(value)).toBe(0)
            expect(await waitForConnectionCount(scope === 'request' ? 0 : 1, app)).toBe(scope === 'request' ? 0 : 1)
            await r.disconnect()
            expect(await waitForConnectionCount(0, app)).toBe(0)
          },
        )
      }
    }

    it('handler rejects a timeoutMs that is not a positive number', () => {
      const r = registry(`${APP}-options`, 'warm')
      for (const timeoutMs of [0, -1, Number.NaN, Infinity, '100'] as unknown[]) {
        expect(() => handler(r, async () => 1, { timeoutMs: timeoutMs as number })).toThrow(
          expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
        )
      }
      expect(typeof handler(r, async () => 1, { timeoutMs: 1000 })).toBe('function')
    })

    it('a fast fn is not affected by timeoutMs: its value, its error, no timer left behind', async () => {
      const app = `${APP}-fast`
      const r = registry(app, 'request')
      const mine = new Error('mine')
      const ok = handler(
        r,
        async (n: number) => (await r.database.query<{ n: number }>('select $1::int as n', [n])).rows[0]!.n,
        { timeoutMs: 5000 },
      )
      const failing = handler(
        r,
        async () => {
          throw mine
        },
        { timeoutMs: 5000 },
      )
      const started = performance.now()
      expect(await Promise.all([ok(1), ok(2), ok(3)])).toEqual([1, 2, 3])
      expect(await failing().catch((e: unknown) => e)).toBe(mine)
      expect(performance.now() - started).toBeLessThan(2000)
      expect(await waitForConnectionCount(0, app)).toBe(0)
    })

    it('disconnect() closes every database even when two closes fail, and reports both failures', async () => {
      const files = tempDir('lazydb-shutdown-')
      const r = new Registry({
        database: libsql(`file:${files.file('default.db')}`),
        extra: { a: libsql(`file:${files.file('a.db')}`), b: libsql(`file:${files.file('b.db')}`) },
        platform: 'node',
        warn: false,
      })
      await r.connect()
      // Fault injection on the driver's own objects (what client() hands out): the closes of `a` and
      // `b` close the database, then report a failure (as a close whose goodbye errored would).
      const attempted: string[] = []
      const clients: Record<string, Client> = {}
      for (const name of ['default', 'a', 'b'] as const) {
        const client = await r.using(name).client()
        clients[name] = client
        const close = client.close.bind(client)
        client.close = () => {
          attempted.push(name)
          close()
          if (name !== 'default') throw new Error(`close of ${name} failed`)
        }
      }
      const error = (await r.disconnect().catch((e: unknown) => e)) as LazyDbError
      expect(attempted.sort()).toEqual(['a', 'b', 'default']) // all attempted, none skipped after the first failure
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error.code).toBe('CLOSED')
      expect(error.message).toMatch(/closing failed for: a, b$/)
      const failures = (error.cause as AggregateError).errors as LazyDbError[]
      expect(failures.map((f) => [f.code, f.database, f.message])).toEqual([
        ['CLOSED', 'a', 'database "a" (libsql): closing the client failed: close of a failed'],
        ['CLOSED', 'b', 'database "b" (libsql): closing the client failed: close of b failed'],
      ])
      for (const client of Object.values(clients)) expect(client.closed).toBe(true)
      expect(r.stats().databases).toMatchObject({ default: { closes: 1 }, a: { closes: 1 }, b: { closes: 1 } })
      files.remove()
    })

    it('leaves no connection open at the server or the gateway', async () => {
      await Promise.all(registries.map((r) => r.disconnect({ force: true }).catch(() => undefined)))
      const { rows: left } = await admin.query(
        'select count(*)::int as n from pg_stat_activity where application_name like $1',
        [`${APP}-%`],
      )
      expect(left[0]!.n).toBe(0)
      await expect.poll(() => gateway.openConnections).toBe(0)
    })
  },
)
