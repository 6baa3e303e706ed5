// The reliability suites for the TCP drivers (pg, postgres.js, mysql2), straight against the real
// PostgreSQL and MariaDB: freeze/thaw (a real SIGSTOP of a Lambda-like child while the server ends its
// idle connection), the server ending connections between and during invocations, the server
// unreachable at cold start, and a soak. Each target's connections carry a tag of the test's own
// (application_name on Postgres, a user on MariaDB), so counts ignore other files.
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, type LazyDbError, Registry } from '@lazydb/core'
import '@lazydb/core/mysql2'
import '@lazydb/core/pg'
import '@lazydb/core/postgres'
import { SETTLE_AFTER_IDLE_MS } from '../../src/drivers/settle-io.js'
import { closedPort } from '../support/ports.js'
import { TCP_TARGETS } from '../support/tcp-targets.js'
import { underCi } from '../support/ci.js'
import { removeBundle, sleep, startFrozenFunction, type FrozenFunction } from './support.js'

const LAMBDA_POOL_MAX = 2
/** How long the child holds an invocation taken in before the freeze; the freeze outlasts it. */
const HOLD_MS = SETTLE_AFTER_IDLE_MS + 10
const deadline = <T>(work: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([work, sleep(ms).then(() => Promise.reject(new Error(`${what}: no outcome within ${ms} ms`)))])

for (const target of TCP_TARGETS) {
  const up = await target.available()
  if (!up && underCi()) throw new Error(`${target.driver}: its server is required under CI but is not reachable`)
  const tag = (name: string) => `lz-${target.driver}-${name}-${process.pid}`

  describe.skipIf(!up)(`${target.driver}: reliability`, () => {
    const started: FrozenFunction[] = []
    async function start(name: string): Promise<{ fn: FrozenFunction; app: string }> {
      const app = tag(name)
      await target.prepare(app)
      const fn = await startFrozenFunction({
        DATABASE_URL: target.url(app),
        LAZYDB_DRIVER: target.driver,
        LAZYDB_PID_SQL: target.pidSql,
      })
      started.push(fn)
      return { fn, app }
    }
    afterAll(async () => {
      await Promise.all(started.map((fn) => fn.shutdown()))
      await removeBundle()
    })

    it('freeze/thaw, 20 cycles: the server ends the idle connection in each freeze; 0 failed invocations', async () => {
      const { fn, app } = await start('freeze')
      const first = await fn.invoke()
      expect(first.error).toBeUndefined()
      const pids = new Set<unknown>()
      let maxConnections = 0
      for (let cycle = 0; cycle < 20; cycle++) {
        await fn.freeze()
        expect(await target.kill(app)).toBeGreaterThan(0)
        fn.thaw()
        const report = await fn.invoke()
        expect(report.error, `cycle ${cycle}`).toBeUndefined()
        pids.add((report.result as { pid: unknown }[])[0]!.pid)
        maxConnections = Math.max(maxConnections, await target.connections(app))
      }
      expect(pids.size).toBe(20) // a new server connection after every freeze
      expect(maxConnections).toBeLessThanOrEqual(LAMBDA_POOL_MAX)
      await fn.shutdown()
      expect(await target.connections(app)).toBe(0)
    })

    it('freeze/thaw with the event taken in before the thaw, 10 cycles: 0 failed invocations', async () => {
      const { fn, app } = await start('across')
      expect((await fn.invoke()).error).toBeUndefined()
      for (let cycle = 0; cycle < 10; cycle++) {
        // A freeze as Lambda's are, longer than a pause within one request (SETTLE_AFTER_IDLE_MS).
        const frozenFor = sleep(HOLD_MS + 5)
        const report = await fn.invokeAcrossFreeze(HOLD_MS, async () => {
          await target.kill(app)
          await frozenFor
        })
        expect(report.error, `cycle ${cycle}`).toBeUndefined()
      }
      await fn.shutdown()
      expect(await target.connections(app)).toBe(0)
    })

    it('the server ends the connection between invocations (5 times), then in one: CONNECTION_LOST once', async () => {
      const { fn, app } = await start('terminate')
      expect((await fn.invoke()).error).toBeUndefined()
      for (let i = 0; i < 5; i++) {
        await target.kill(app)
        expect((await fn.invoke()).error).toBeUndefined()
      }
      const running = fn.invoke({ sql: target.sleepSql(2) })
      await sleep(300)
      await target.kill(app)
      const cut = await running
      expect(cut.error).toMatchObject({ code: 'CONNECTION_LOST', mayHaveRun: true })
      expect((await fn.invoke()).error).toBeUndefined()
      await fn.shutdown()
      expect(await target.connections(app)).toBe(0)
    })

    it('unreachable at cold start for 1 s: the first query waits it out; given 300 ms, CONNECT_FAILED', async () => {
      const app = tag('unreachable')
      await target.prepare(app)
      const port = await closedPort()
      const [host, serverPort] = target.hostPort.split(':') as [string, string]
      const proxy = net.createServer((socket) => {
        const upstream = net.connect(Number(serverPort), host)
        socket.pipe(upstream).pipe(socket)
        socket.on('error', () => upstream.destroy())
        upstream.on('error', () => socket.destroy())
      })
      const opened = sleep(1000).then(() => new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r)))
      const patient = new Registry({ database: { url: target.url(app, `127.0.0.1:${port}`), driver: target.driver } })
      const impatient = new Registry({
        database: { url: target.url(app, `127.0.0.1:${(await closedPort()).toString()}`), driver: target.driver },
        retry: { totalMs: 300 },
        warn: false,
      })
      try {
        const waited = handler(patient, () => patient.database.query('select 1 as one'))
        const t0 = Date.now()
        expect((await deadline(waited(), 8000, 'the patient query')).rows).toEqual([{ one: 1 }])
        expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
        expect(patient.stats().databases.default!.retries).toBeGreaterThan(0)
        const failed = (await deadline(
          impatient.database.query('select 1').catch((e: unknown) => e),
          4000,
          'the impatient query',
        )) as LazyDbError
        expect(failed).toMatchObject({ code: 'CONNECT_FAILED', database: 'default' })
        expect(failed.message).not.toContain('tcp-target-pw')
      } finally {
        await opened
        await patient.disconnect({ force: true })
        await impatient.disconnect({ force: true })
        await new Promise((r) => proxy.close(r))
      }
      expect(await target.connections(app)).toBe(0)
    })

    describe('soak', () => {
      let registry: Registry
      const app = tag('soak')
      const POOL_MAX = 5
      beforeAll(async () => {
        await target.prepare(app)
        registry = new Registry({
          database: { url: target.url(app), driver: target.driver, max: POOL_MAX },
          platform: 'node',
          warn: false,
        })
      })

      it('3,000 invocations, 25 at a time, with transactions, batches and throwing functions', async () => {
        const table = `lz_soak_${target.driver}_${process.pid}`
        const db = registry.database
        await db.query(`drop table if exists ${table}`)
        await db.query(`create table ${table} (v int)`)
        const fn = handler(registry, async (i: number) => {
          if (i % 10 === 0) {
            await db.transaction(async (tx) => {
              await tx.query(`insert into ${table} (v) values (${i})`)
            })
          } else if (i % 10 === 1) {
            await db.batch([{ text: `insert into ${table} (v) values (${i})` }, { text: 'select 1 as one' }])
          } else if (i % 10 === 2) {
            await db.query('select 1 as one')
            throw new Error('the function throws')
          } else await db.query('select 1 as one')
          return i
        })
        let next = 0
        let failures = 0
        let thrown = 0
        let maxConnections = 0
        const worker = async () => {
          while (next < 3000) {
            const i = next++
            await fn(i).catch((e: Error) => (e.message === 'the function throws' ? thrown++ : failures++))
          }
        }
        const watching = (async () => {
          while (next < 3000) {
            maxConnections = Math.max(maxConnections, await target.connections(app))
            await sleep(50)
          }
        })()
        await deadline(Promise.all([...Array.from({ length: 25 }, worker), watching]), 25_000, 'the soak')
        expect(failures).toBe(0)
        expect(thrown).toBe(300)
        expect(maxConnections).toBeLessThanOrEqual(POOL_MAX)
        const { rows } = await db.query(`select count(*) as n from ${table}`)
        expect(Number(Object.values(rows[0]!)[0])).toBe(600)
        expect(registry.stats().databases.default).toMatchObject({ connects: 1, errors: 0 })
        await db.query(`drop table ${table}`)
        await registry.disconnect()
        expect(await target.connections(app)).toBe(0)
      })
    })
  })
}
