// pg_terminate_backend of the warm neon-ws connection (through the local WebSocket gateway to the
// real PostgreSQL): between invocations (in-process, and in the frozen child process of the
// FREEZE HARNESS, ./support.ts), with the next event already queued when it happens, together with
// a short refusal of new connections (a compute restart), and in the middle of a statement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, type RetryEvent } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import type pg from 'pg'
import { SETTLE_AFTER_IDLE_MS } from '../../src/drivers/settle-io.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { pgAdmin, removeBundle, sleep, startFrozenFunction, terminateBackends, type FrozenFunction } from './support.js'

const pgUp = await requirePostgres()
const APP = `lazydb-terminate-${process.pid}`
const wsUrl = (app: string) =>
  `${pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: app })}&transport=ws`
const pidOf = (rows: unknown) => (rows as { pid: number }[])[0]!.pid

describe.skipIf(!pgUp)('pg_terminate_backend of the warm connection', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client
  const apps: string[] = []
  const children: FrozenFunction[] = []

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    admin = await pgAdmin()
  })
  afterAll(async () => {
    await Promise.all(children.map((fn) => fn.shutdown()))
    await gateway?.close()
    await admin?.end()
    await removeBundle()
  })

  function inProcess(app: string, retries: RetryEvent[] = []) {
    apps.push(app)
    const registry = new Registry({
      database: neon(wsUrl(app), {
        wsProxy: gateway.wsProxy,
        useSecureWebSocket: false,
        pipelineConnect: false,
        transport: 'ws',
      }),
      platform: 'node',
      warn: false,
      on: { retry: (e) => void retries.push(e) },
    })
    const invoke = handler(
      registry,
      async (sql?: string) => (await registry.database.query(sql ?? 'select pg_backend_pid() as pid')).rows,
    )
    return { registry, invoke }
  }

  /**
   * Terminates the app's backends and waits until the gateway has passed the server's goodbye
   * (FATAL 57P01, then the close) on to the function: "between invocations" means the termination
   * has happened, not that its notice is still on the wire (a statement sent then cannot know).
   * In-process, also until the function has read it (the WebSocket close handshake completed).
   */
  async function terminate(app: string, options: { read?: boolean } = {}): Promise<number[]> {
    const out = gateway.bytesOut
    const open = gateway.openConnections
    const pids = await terminateBackends(admin, app)
    for (let i = 0; i < 500 && gateway.bytesOut === out; i++) await sleep(1)
    if (options.read) for (let i = 0; i < 500 && gateway.openConnections >= open; i++) await sleep(1)
    return pids
  }

  async function child(app: string): Promise<FrozenFunction> {
    apps.push(app)
    const fn = await startFrozenFunction({ DATABASE_URL: wsUrl(app), NEON_WS_PROXY: gateway.wsProxy })
    children.push(fn)
    return fn
  }

  it(
    'between invocations (in-process, 20 cycles): ' + 'the next invocation succeeds on a new backend, 0 failures',
    async () => {
      const app = `${APP}-between`
      const { registry, invoke } = inProcess(app)
      let pid = pidOf(await invoke())
      const failures: unknown[] = []
      for (let i = 0; i < 20; i++) {
        expect(await terminate(app, { read: true })).toEqual([pid])
        const next = await invoke().catch((e: unknown) => (failures.push(e), undefined))
        if (next !== undefined) {
          expect(pidOf(next)).not.toBe(pid)
          pid = pidOf(next)
        }
      }
      expect(failures).toEqual([])
      expect(registry.stats().databases.default).toMatchObject({ errors: 0 })
      await registry.disconnect()
      expect(await waitForConnectionCount(0, app)).toBe(0)
    },
  )

  it('between invocations of a frozen function (50 cycles, terminated while frozen): 0 failures', async () => {
    const app = `${APP}-frozen`
    const fn = await child(app)
    let last = await fn.invoke()
    expect(last.error).toBeUndefined()
    const failures: unknown[] = []
    for (let i = 0; i < 50; i++) {
      await fn.freeze()
      const [terminated] = await terminate(app)
      expect(terminated).toBe(pidOf(last.result))
      fn.thaw()
      last = await fn.invoke()
      if (last.error !== undefined) failures.push(last.error)
      else expect(pidOf(last.result)).not.toBe(terminated)
    }
    const s = last.stats.databases.default!
    const closes = last.closes.reduce<Record<string, number>>((m, r) => ((m[r] = (m[r] ?? 0) + 1), m), {})
    console.log(
      `[terminate] frozen, 50 cycles: failed invocations ${failures.length}; driver clients created ${s.connects}; ` +
        `closes ${JSON.stringify(closes)}; errors ${s.errors}`,
    )
    expect(failures).toEqual([])
    expect(s.errors).toBe(0)
    await fn.shutdown()
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  it(
    'the connection was already gone when the statement came (event queued before the termination, 30 cycles): ' +
      'it runs exactly once, on a fresh connection',
    async () => {
      const app = `${APP}-queued`
      const table = `lazydb_rel_term_${process.pid}`
      await admin.query(`drop table if exists ${table}`)
      await admin.query(`create table ${table} (cycle int primary key)`)
      try {
        const fn = await child(app)
        let last = await fn.invoke({ sql: `insert into ${table} values (-1) returning pg_backend_pid() as pid` })
        const failures: unknown[] = []
        for (let cycle = 0; cycle < 30; cycle++) {
          await fn.freeze()
          // The event reaches the process before the server's FATAL and close do.
          const queued = fn.invoke({ sql: `insert into ${table} values (${cycle}) returning pg_backend_pid() as pid` })
          const [terminated] = await terminate(app)
          expect(terminated).toBe(pidOf(last.result))
          await sleep(SETTLE_AFTER_IDLE_MS + 10) // a freeze, not a pause between two queries of one request
          fn.thaw()
          last = await queued
          if (last.error !== undefined) failures.push({ cycle, ...last.error })
          else expect(pidOf(last.result)).not.toBe(terminated)
        }
        expect(failures).toEqual([])
        // Exactly once each: a statement given to the dead connection and run again would have failed
        // on the primary key, and one lost would be missing.
        const { rows } = await admin.query<{ n: number }>(`select count(*)::int as n from ${table} where cycle >= 0`)
        expect(rows[0]!.n).toBe(30)
        expect(last.stats.databases.default).toMatchObject({ errors: 0 })
        await fn.shutdown()
        expect(await waitForConnectionCount(0, app)).toBe(0)
      } finally {
        await admin.query(`drop table if exists ${table}`)
      }
    },
  )

  it(
    'terminated while new connections are refused for 300 ms (a compute restart, 5 cycles): ' +
      'retried with backoff, 0 failures',
    async () => {
      const app = `${APP}-restart`
      const fn = await child(app)
      let last = await fn.invoke()
      const failures: unknown[] = []
      const timings: number[] = []
      for (let i = 0; i < 5; i++) {
        await fn.freeze()
        await terminate(app)
        gateway.refuse(true)
        fn.thaw()
        const started = performance.now()
        const pending = fn.invoke()
        await sleep(300)
        gateway.refuse(false)
        last = await pending
        timings.push(performance.now() - started)
        if (last.error !== undefined) failures.push(last.error)
      }
      const times = timings.map((t) => Math.round(t)).join(', ')
      const retries = last.retries.map((r) => `${r.reason}#${r.attempt}+${r.delayMs}ms`)
      console.log(
        `[terminate] compute restart: failed invocations ${failures.length}; invocation times ${times} ms; ` +
          `retries ${JSON.stringify(retries)}`,
      )
      expect(failures).toEqual([])
      expect(last.stats.databases.default!.retries).toBeGreaterThanOrEqual(5)
      expect(last.retries.every((r) => r.reason === 'connect')).toBe(true)
      await fn.shutdown()
      expect(await waitForConnectionCount(0, app)).toBe(0)
    },
  )

  it(
    'mid-statement (terminated during pg_sleep(1)): not retried, CONNECTION_LOST with mayHaveRun: true; ' +
      'the next invocation works',
    async () => {
      const app = `${APP}-midflight`
      const seq = `lazydb_rel_seq_${process.pid}`
      await admin.query(`drop sequence if exists ${seq}`)
      await admin.query(`create sequence ${seq}`)
      const retries: RetryEvent[] = []
      const { registry, invoke } = inProcess(app, retries)
      try {
        await invoke()
        // nextval is not transactional: a statement run a second time would leave last_value at 2.
        const running = invoke(`select nextval('${seq}') as n, pg_sleep(1)`).catch((e: unknown) => e)
        for (let i = 0; i < 100; i++) {
          const { rows } = await admin.query(
            "select 1 from pg_stat_activity where application_name = $1 and state = 'active'",
            [app],
          )
          if (rows.length > 0) break
          await sleep(10)
        }
        await sleep(100)
        const started = performance.now()
        await terminateBackends(admin, app)
        const error = (await running) as LazyDbError
        expect(performance.now() - started).toBeLessThan(900) // the statement did not go on to its end
        expect(error).toBeInstanceOf(LazyDbError)
        expect(error).toMatchObject({
          code: 'CONNECTION_LOST',
          mayHaveRun: true,
          database: 'default',
          sqlState: '57P01',
        })
        expect(error.message).toMatch(/may have run, so it was not retried/)
        expect(retries).toEqual([])
        const sequence = await admin.query<{ last_value: string }>(`select last_value from ${seq}`)
        expect(sequence.rows[0]!.last_value).toBe('1')
        expect(registry.stats().databases.default).toMatchObject({ retries: 0, errors: 1 })
        // The broken connection was dropped: the next invocation runs on a new one.
        expect(await invoke('select 1 as ok')).toEqual([{ ok: 1 }])
      } finally {
        await registry.disconnect()
        await admin.query(`drop sequence if exists ${seq}`)
      }
      expect(await waitForConnectionCount(0, app)).toBe(0)
    },
  )

  it('leaves no server connection behind', async () => {
    await Promise.all(children.map((fn) => fn.shutdown()))
    for (const app of apps) expect(await waitForConnectionCount(0, app)).toBe(0)
    await expect.poll(() => gateway.openConnections).toBe(0)
  })
})
