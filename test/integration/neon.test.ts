// lazydb's Neon drivers (neon-http, neon-ws), driving the unmodified @neondatabase/serverless
// through the local Neon gateways to the real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import ws from 'ws'
import { Pool, neon as rawNeon, neonConfig } from '@neondatabase/serverless'
import { LazyDbError, Registry } from '@lazydb/core'
import { classifyNeon, neon, type NeonOptions } from '@lazydb/core/neon'
import { pipelineInternals } from '../../src/drivers/pg-common/pipeline.js'
import { conformance, type Dialect } from '../support/conformance.js'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgConnectionCount, pgUrlFor, requirePostgres, waitForConnectionCount, pgAdmin } from '../support/postgres.js'
import { exposed } from '../support/exposed.js'

const pgUp = await requirePostgres()

const PID = process.pid
// A unique application_name lets connection counts ignore other test files running in parallel.
const APP = `lazydb-neon-${PID}`
const PASSWORD = 's3cr3t-pw'
const HOST = 'ep-lazydb-test.neon.tech'
const urlFor = (applicationName: string) => pgUrlFor(HOST, { password: PASSWORD, applicationName })
const HTTP_URL = urlFor(APP)
const WS_URL = `${HTTP_URL}&transport=ws`

const pgDialect: Dialect = {
  param: (n) => `$${n}`,
  createTable: (t) => `create table ${t} (id bigserial primary key, name text unique)`,
  dropTable: (t) => `drop table if exists ${t}`,
  uniqueSqlState: '23505',
  lastInsertId: false,
}

type Transport = 'neon-http' | 'neon-ws'
const TRANSPORTS: Transport[] = ['neon-http', 'neon-ws']

interface Gateways {
  http: NeonHttpGateway
  ws: NeonWsGateway
  slowHttp: NeonHttpGateway
  slowWs: NeonWsGateway
}
let gw: Gateways
let gatewaysClosed: Promise<unknown> | undefined
const closeGateways = () =>
  (gatewaysClosed ??= Promise.all(Object.values(gw ?? {}).map((g: { close(): Promise<void> }) => g.close())))

beforeAll(async () => {
  if (!pgUp) return
  const [http, wsGw, slowHttp, slowWs] = await Promise.all([
    startNeonHttpGateway({ record: true }),
    startNeonWsGateway(),
    startNeonHttpGateway({ delayMs: 20 }),
    startNeonWsGateway({ delayMs: 20 }),
  ])
  gw = { http, ws: wsGw, slowHttp, slowWs }
})
afterAll(async () => {
  if (gw !== undefined) await closeGateways()
})

/** The local gateway speaks plain ws:// and trust auth (no pipelined cleartext password). */
const socket = (gateway: NeonWsGateway): NeonOptions => ({
  wsProxy: gateway.wsProxy,
  useSecureWebSocket: false,
  pipelineConnect: false,
})
const options = (transport: Transport, extra: NeonOptions = {}, slow = false): NeonOptions =>
  transport === 'neon-http'
    ? { fetchEndpoint: (slow ? gw.slowHttp : gw.http).endpoint, ...socket(slow ? gw.slowWs : gw.ws), ...extra }
    : { ...socket(slow ? gw.slowWs : gw.ws), transport: 'ws', ...extra }
const database = (transport: Transport, extra?: NeonOptions, slow = false, url?: string) =>
  neon(url ?? (transport === 'neon-http' ? HTTP_URL : WS_URL), options(transport, extra, slow))
const registryFor = (transport: Transport, extra?: NeonOptions, slow = false, url?: string) =>
  new Registry({ database: database(transport, extra, slow, url), warn: false })

for (const transport of TRANSPORTS) {
  conformance(transport, pgDialect, async () => ({ registry: registryFor(transport) }), pgUp)
}

describe.skipIf(!pgUp)('Neon drivers', () => {
  describe.each(TRANSPORTS)('%s', (transport) => {
    const suffix = `${transport.replace('-', '_')}_${PID}`

    it('picks the driver from the URL or the option, and hands the driver the URL without transport=ws', async () => {
      expect(neon(HTTP_URL).driver).toBe('neon-http')
      expect(neon(WS_URL, { transport: 'ws' }).driver).toBe('neon-ws')
      expect(neon(HTTP_URL, { driver: 'neon-ws' }).driver).toBe('neon-ws')
      expect(new Registry({ database: WS_URL, warn: false }).database.driver).toBe('neon-ws')
      // The factory types client() by the option, so a URL asking for ws without it is refused.
      expect(() => neon(WS_URL)).toThrow(/transport=ws, but the options do not/)
      const url = `${HTTP_URL}&transport=${transport === 'neon-ws' ? 'ws' : 'http'}&x=1`
      const registry = registryFor(transport, { driver: transport }, false, url)
      expect(registry.database.driver).toBe(transport)
      try {
        const { rows } = await registry.database.query<{ app: string }>('select current_setting($1) as app', [
          'application_name',
        ])
        expect(rows).toEqual([{ app: APP }])
        if (transport === 'neon-http') {
          const sent = gw.http.requests.at(-1)!.headers['neon-connection-string']!
          expect(sent).not.toMatch(/transport/)
          expect(sent).toMatch(/[?&]x=1(&|$)/)
        } else {
          const pool = (await registry.database.client()) as Pool
          expect(pool).toBeInstanceOf(Pool)
          expect(pool.options.connectionString).not.toMatch(/transport/)
          expect(pool.options.connectionString).toMatch(/[?&]x=1(&|$)/)
        }
      } finally {
        await registry.disconnect()
      }
    })

    it('checks its options at construction, before any connection', () => {
      let error: unknown
      try {
        registryFor(transport, { max: 0, wsProxy: 42 as never })
      } catch (e) {
        error = e
      }
      expect(error).toMatchObject({ code: 'CONFIG_INVALID' })
      expect((error as Error).message).toMatch(/option (max|wsProxy)/)
    })

    it('maps Postgres types: int8 and numeric as strings, json parsed, bytea, timestamptz, arrays, null', async () => {
      const registry = registryFor(transport)
      const { rows, columns, rowCount } = await registry.database.query<Record<string, unknown>>(
        `select 9007199254740993::int8 as big, 1.50::numeric as num, '{"a":[1,2]}'::json as j,
          '{"b":true}'::jsonb as jb, $1::bytea as bin, '\\xdeadbeef'::bytea as bin2,
          '2024-01-02T03:04:05.678Z'::timestamptz as ts, $2::timestamptz as ts2,
          array[1,2,null]::int[] as arr, null::text as nothing, true as flag, $3::int8 as pbig, $4::jsonb as pjson`,
        [
          Buffer.from([1, 2, 255]),
          new Date('2020-05-06T07:08:09.010Z'),
          '9007199254740995',
          JSON.stringify({ k: ['v'] }),
        ],
      )
      expect(columns).toEqual([
        'big',
        'num',
        'j',
        'jb',
        'bin',
        'bin2',
        'ts',
        'ts2',
        'arr',
        'nothing',
        'flag',
        'pbig',
        'pjson',
      ])
      expect(rowCount).toBe(1)
      const row = rows[0]!
      expect(row).toMatchObject({
        big: '9007199254740993',
        num: '1.50',
        j: { a: [1, 2] },
        jb: { b: true },
        arr: [1, 2, null],
        nothing: null,
        flag: true,
        pbig: '9007199254740995',
        pjson: { k: ['v'] },
      })
      expect(row.bin).toBeInstanceOf(Uint8Array)
      expect(Buffer.from(row.bin as Uint8Array).toString('hex')).toBe('0102ff')
      expect(Buffer.from(row.bin2 as Uint8Array).toString('hex')).toBe('deadbeef')
      expect(row.ts).toBeInstanceOf(Date)
      expect((row.ts as Date).toISOString()).toBe('2024-01-02T03:04:05.678Z')
      expect((row.ts2 as Date).toISOString()).toBe('2020-05-06T07:08:09.010Z')
      await registry.disconnect()
    })

    it('reports rowCount of writes and of reads, and rejects named parameters', async () => {
      const table = `lazydb_rc_${suffix}`
      const registry = registryFor(transport)
      const db = registry.database
      await db.query(`drop table if exists ${table}`)
      await db.query(`create table ${table} (v int)`)
      expect((await db.query(`insert into ${table} values (1), (2), (3)`)).rowCount).toBe(3)
      expect((await db.query(`update ${table} set v = v + 1 where v > $1`, [1])).rowCount).toBe(2)
      expect((await db.query(`select * from ${table}`)).rowCount).toBe(3)
      const named = await db.query('select :a', { a: 1 }).catch((e: unknown) => e)
      expect(named).toMatchObject({ code: 'INVALID_ARGUMENT' })
      await db.query(`drop table ${table}`)
      await registry.disconnect()
    })

    it('binds a schema per statement (search_path), leaving nothing on the pooled connection', async () => {
      const schema = `lazydb_s_${suffix}`
      const table = `lazydb_same_${suffix}`
      await pgAdmin(`drop schema if exists ${schema} cascade; drop table if exists public.${table};
        create schema ${schema}; create table ${schema}.${table} (v text);
        insert into ${schema}.${table} values ('schema');
        create table public.${table} (v text); insert into public.${table} values ('public')`)
      // One pooled connection, so a leaked search_path would show on the next plain query.
      const registry = registryFor(transport, { max: 1 })
      try {
        const plain = registry.database
        const scoped = registry.using(undefined, { schema })
        expect(scoped.schema).toBe(schema)
        expect((await scoped.query(`select v from ${table}`)).rows).toEqual([{ v: 'schema' }])
        expect((await plain.query(`select v from ${table}`)).rows).toEqual([{ v: 'public' }])
        // Values are never identifiers.
        expect(await scoped.sql`select v, ${1}::int as one from ${table as never}`.catch(() => null)).toBeNull()
        const [, count] = await scoped.batch([
          { text: `insert into ${table} values ($1)`, params: ['batched'] },
          { text: `select count(*)::int as n from ${table}` },
        ])
        expect(count!.rows).toEqual([{ n: 2 }])
        const inside = await scoped.transaction(async (tx) => {
          await tx.query(`insert into ${table} values ($1)`, ['tx'])
          return (
            await tx.query<{ s: string; n: number }>(
              `select current_schema() as s, (select count(*)::int from ${table}) as n`,
            )
          ).rows[0]
        })
        expect(inside).toEqual({ s: schema, n: 3 })
        for (let i = 0; i < 3; i++) {
          expect((await plain.query<{ search_path: string }>('show search_path')).rows[0]!.search_path).toBe(
            '"$user", public',
          )
          expect((await plain.query(`select count(*)::int as n from ${table}`)).rows).toEqual([{ n: 1 }])
        }
        if (transport === 'neon-ws') {
          // Without parameters the simple protocol allows several statements, with or without a schema.
          expect((await plain.query(`select 1 as a; select v from ${table}`)).rows).toEqual([{ v: 'public' }])
          expect((await scoped.query(`select 1 as a; select v from ${table} order by v limit 1`)).rows).toEqual([
            { v: 'batched' },
          ])
        }
        // A value that cannot be encoded fails before anything is sent; the connection stays usable.
        const unencodable = {
          toJSON: () => {
            throw new Error('cannot encode')
          },
        }
        const bad = await scoped
          .batch([
            { text: `insert into ${table} values ($1)`, params: ['never'] },
            { text: 'select $1::jsonb', params: [unencodable] },
          ])
          .catch((e: unknown) => e)
        expect(bad).toMatchObject({ code: 'QUERY_FAILED', message: expect.stringMatching(/cannot encode/) })
        expect((await scoped.query(`select count(*)::int as n from ${table} where v = $1`, ['never'])).rows).toEqual([
          { n: 0 },
        ])
        const failing = await scoped.query('select * from lazydb_no_such_table').catch((e: unknown) => e)
        expect(failing).toMatchObject({ code: 'QUERY_FAILED', sqlState: '42P01' })
        expect((await plain.query<{ search_path: string }>('show search_path')).rows[0]!.search_path).toBe(
          '"$user", public',
        )
        expect(() => registry.using(undefined, { schema: 'x; drop table y' })).toThrow(
          expect.objectContaining({ code: 'CONFIG_INVALID' }),
        )
      } finally {
        await registry.disconnect()
        await pgAdmin(`drop schema if exists ${schema} cascade; drop table if exists public.${table}`)
      }
    })

    it('runs interactive transactions with isolation and read-only options', async () => {
      const table = `lazydb_tx_${suffix}`
      const registry = registryFor(transport)
      const db = registry.database
      await db.query(`drop table if exists ${table}`)
      await db.query(`create table ${table} (v int)`)
      try {
        const shown = await db.transaction(async (tx) => (await tx.query('show transaction_isolation')).rows[0], {
          isolationLevel: 'serializable',
          readOnly: true,
          deferrable: true,
        })
        expect(shown).toEqual({ transaction_isolation: 'serializable' })
        const readOnly = await db
          .transaction((tx) => tx.query(`insert into ${table} values (1)`), { readOnly: true })
          .catch((e: unknown) => e)
        expect(readOnly).toMatchObject({ code: 'QUERY_FAILED', sqlState: '25006' })
        // A statement error swallowed inside fn: COMMIT rolls back, and lazydb says so.
        const swallowed = await db
          .transaction(async (tx) => {
            await tx.query(`insert into ${table} values (1)`)
            await tx.query('select 1/0').catch(() => undefined)
          })
          .catch((e: unknown) => e)
        expect(swallowed).toMatchObject({ code: 'QUERY_FAILED', sqlState: '25P02' })
        expect((await db.query(`select count(*)::int as n from ${table}`)).rows).toEqual([{ n: 0 }])
      } finally {
        await db.query(`drop table if exists ${table}`)
        await registry.disconnect()
      }
    })

    it('surfaces a unique violation with SQLSTATE, constraint and detail, the password nowhere', async () => {
      const table = `lazydb_err_${suffix}`
      const registry = registryFor(transport)
      const db = registry.database
      await db.query(`drop table if exists ${table}`)
      await db.query(`create table ${table} (id int primary key, note text constraint ${table}_note_key unique)`)
      try {
        await db.query(`insert into ${table} values ($1, $2)`, [1, 'dup'])
        const error = (await db
          .query(`insert into ${table} values ($1, $2)`, [2, 'dup'])
          .catch((e: unknown) => e)) as LazyDbError
        expect(error).toBeInstanceOf(LazyDbError)
        expect(error).toMatchObject({
          code: 'QUERY_FAILED',
          database: 'default',
          sqlState: '23505',
          constraint: `${table}_note_key`,
          mayHaveRun: true,
        })
        expect(error.detail).toMatch(/already exists/)
        expect(error.cause).toBeInstanceOf(Error)
        expect(error.cause).toMatchObject({ code: '23505' })
        expect(error.message).toContain(`(${transport})`)
        expect(exposed(error)).not.toContain(PASSWORD)
        const batch = (await db
          .batch([{ text: `insert into ${table} values (3, 'x')` }, { text: `insert into ${table} values (4, 'dup')` }])
          .catch((e: unknown) => e)) as LazyDbError
        expect(batch).toMatchObject({ code: 'QUERY_FAILED', sqlState: '23505' })
        expect((await db.query(`select count(*)::int as n from ${table}`)).rows).toEqual([{ n: 1 }])
        expect(exposed(batch)).not.toContain(PASSWORD)
        expect(registry.database.url).not.toContain(PASSWORD)
      } finally {
        await db.query(`drop table if exists ${table}`)
        await registry.disconnect()
      }
    })

    it('fails to connect with CONNECT_FAILED through a refusing gateway, the password nowhere', async () => {
      const [refusingWs, refusingHttp] = await Promise.all([startNeonWsGateway(), startNeonHttpGateway()])
      refusingWs.refuse(true)
      refusingHttp.refuse(true)
      const registry = new Registry({
        database: neon(transport === 'neon-http' ? HTTP_URL : WS_URL, {
          fetchEndpoint: refusingHttp.endpoint,
          ...socket(refusingWs),
          transport: transport === 'neon-http' ? 'http' : 'ws',
        }),
        warn: false,
        retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 },
      })
      try {
        const error = (await registry.database.query('select 1').catch((e: unknown) => e)) as LazyDbError
        expect(error).toBeInstanceOf(LazyDbError)
        expect(exposed(error)).not.toContain(PASSWORD)
        if (transport === 'neon-ws') {
          expect(error.code).toBe('CONNECT_FAILED')
          expect(error.message).toMatch(/after 3 attempts.*WebSocket error/)
          expect(error.cause).toBeInstanceOf(Error)
          expect(registry.stats().databases.default!.retries).toBe(2)
        } else {
          // Refused before the request was sent: retried (2 retries, then given up), reported as not run.
          expect(error).toMatchObject({ code: 'CONNECT_FAILED', mayHaveRun: false })
          expect(error.message).toMatch(/did not run: Error connecting to database/)
          expect(registry.stats().databases.default!.retries).toBe(2)
        }
        const tx = (await registry.database.transaction(async () => 'never').catch((e: unknown) => e)) as LazyDbError
        expect(tx).toMatchObject({ code: 'CONNECT_FAILED' })
        expect(exposed(tx)).not.toContain(PASSWORD)
        refusingWs.refuse(false)
        await refusingHttp.refuse(false)
        expect((await registry.database.query('select 1 as x')).rows).toEqual([{ x: 1 }])
        expect(await registry.database.transaction(async (tx2) => (await tx2.query('select 2 as y')).rows)).toEqual([
          { y: 2 },
        ])
      } finally {
        await registry.disconnect()
        await Promise.all([refusingWs.close(), refusingHttp.close()])
      }
    })

    it('closes every server connection on disconnect', async () => {
      const app = `${APP}-dc-${transport}`
      const registry = registryFor(
        transport,
        {},
        false,
        transport === 'neon-http' ? urlFor(app) : `${urlFor(app)}&transport=ws`,
      )
      const db = registry.database
      // neon-http keeps no session: only transaction() opens one, so only that is counted here.
      if (transport === 'neon-ws')
        await Promise.all([db.query('select pg_sleep(0.05)'), db.query('select pg_sleep(0.05)')])
      await db.transaction(async (tx) => {
        await tx.query('select 1')
        expect(await pgConnectionCount(app)).toBeGreaterThanOrEqual(1)
      })
      if (transport === 'neon-http')
        expect(await waitForConnectionCount(0, app)).toBe(0) // the session closed with the transaction
      else expect(await pgConnectionCount(app)).toBe(2)
      await registry.disconnect()
      expect(await waitForConnectionCount(0, app)).toBe(0)
    })
  })

  describe('neon-http', () => {
    it('runs transaction(fn) interactively over a short-lived WebSocket session, closed afterwards', async () => {
      const table = `lazydb_http_tx_${PID}`
      const registry = registryFor('neon-http')
      const db = registry.database
      await db.query(`drop table if exists ${table}`)
      await db.query(`create table ${table} (v int)`)
      try {
        gw.http.resetCounters()
        gw.ws.resetCounters()
        const open = gw.ws.openConnections
        const seen = await db.transaction(async (tx) => {
          await tx.query(`insert into ${table} values ($1)`, [1])
          const inside = await tx.query<{ n: number }>(`select count(*)::int as n from ${table}`)
          return inside.rows[0]!.n // read-your-writes: the same session
        })
        expect(seen).toBe(1)
        expect(gw.http.roundTrips).toBe(0)
        expect(gw.ws.connectionsOpened).toBe(1)
        await expect.poll(() => gw.ws.openConnections).toBe(open)

        const mine = new Error('undo')
        const thrown = await db
          .transaction(async (tx) => {
            await tx.query(`insert into ${table} values ($1)`, [2])
            throw mine
          })
          .catch((e: unknown) => e)
        expect(thrown).toBe(mine)
        expect(gw.ws.connectionsOpened).toBe(2)
        await expect.poll(() => gw.ws.openConnections).toBe(open)
        expect((await db.query<{ v: number }>(`select v from ${table}`)).rows).toEqual([{ v: 1 }])
      } finally {
        await db.query(`drop table if exists ${table}`)
        await registry.disconnect()
      }
    })

    it(
      'keeps fetchEndpoint and fetchFunction per database although the driver holds them globally; ' +
        'authToken per database',
      async () => {
        const other = await startNeonHttpGateway({ record: true })
        const fetched: string[] = []
        const counting = (input: string, init?: unknown) => {
          fetched.push(input)
          return fetch(input, init as RequestInit)
        }
        const a = registryFor('neon-http')
        const b = new Registry({
          database: neon(HTTP_URL, { fetchEndpoint: other.endpoint, authToken: 'tok-secret-123' }),
          warn: false,
        })
        const c = new Registry({
          database: neon(HTTP_URL, { fetchEndpoint: other.endpoint, fetchFunction: counting }),
          warn: false,
        })
        try {
          gw.http.resetCounters()
          await Promise.all([
            a.database.query('select 1'),
            b.database.query('select 2'),
            b.database.batch([{ text: 'select 3' }]),
            c.database.query('select 4'),
          ])
          await a.database.query('select 5')
          expect(gw.http.roundTrips).toBe(2)
          expect(other.roundTrips).toBe(3)
          expect(fetched).toEqual([other.endpoint])
          const auth = other.requests.map((r) => r.headers.authorization)
          expect(auth.filter((h) => h === 'Bearer tok-secret-123')).toHaveLength(2)
          expect(auth.filter((h) => h === undefined)).toHaveLength(1)
          // One of them became the process-wide default, for code that uses the raw function from client().
          expect([gw.http.endpoint, other.endpoint]).toContain(neonConfig.fetchEndpoint)
          const raw = await b.database.client()
          expect(typeof raw.transaction).toBe('function')
          const denied = await new Registry({
            database: neon(HTTP_URL, {
              fetchEndpoint: other.endpoint,
              authToken: 'tok-secret-123',
              fetchFunction: async () => new Response('bad token tok-secret-123', { status: 401 }),
            }),
            warn: false,
          }).database
            .query('select 1')
            .catch((e: unknown) => e)
          expect(denied).toMatchObject({ code: 'CONNECT_FAILED' })
          expect(exposed(denied)).not.toContain('tok-secret-123')
          expect(neonConfig.fetchFunction).toBe(counting) // installed, as no process-wide one was set
        } finally {
          neonConfig.opts.fetchFunction = undefined
          await Promise.all([a.disconnect(), b.disconnect(), c.disconnect()])
          await other.close()
        }
      },
    )
  })

  describe('neon-ws', () => {
    it(
      'never idle-closes a warm socket under a statement or transaction ' + 'that runs longer than idleTimeoutMs',
      async () => {
        const closes: string[] = []
        const registry = new Registry({
          database: database('neon-ws', { idleTimeoutMs: 100 }),
          on: { close: (e) => closes.push(e.reason) },
          warn: false,
        })
        try {
          // Connected and idle, then a statement starting 60 ms in and running 300 ms:
          // the idle timer fires while it runs.
          await registry.database.query('select 1')
          await new Promise((resolve) => setTimeout(resolve, 60))
          expect((await registry.database.query('select pg_sleep(0.3), 1 as x')).rows).toMatchObject([{ x: 1 }])
          expect(closes).toEqual([])
          await registry.database.transaction(async (tx) => {
            await tx.query('select pg_sleep(0.15)')
            await tx.query('select pg_sleep(0.15)')
          })
          expect(closes).toEqual([])
          expect(registry.stats().databases.default).toMatchObject({ connects: 1, closes: 0, errors: 0 })
          // Idle time counts from the end of the last use: then the idle close does happen.
          await expect.poll(() => closes, { timeout: 2000 }).toEqual(['idle'])
        } finally {
          await registry.disconnect()
        }
      },
    )

    it('replaces a pool whose connections died while idle (a Lambda freeze), without crashing', async () => {
      const gateway = await startNeonWsGateway()
      const registry = new Registry({ database: neon(WS_URL, { ...socket(gateway), transport: 'ws' }), warn: false })
      try {
        expect((await registry.database.query('select 1 as x')).rows).toEqual([{ x: 1 }])
        gateway.dropAll()
        await expect.poll(() => gateway.openConnections).toBe(0)
        await new Promise((resolve) => setTimeout(resolve, 20)) // the pool's 'error' event
        expect((await registry.database.query('select 2 as x')).rows).toEqual([{ x: 2 }])
        const stats = registry.stats().databases.default!
        expect(stats).toMatchObject({ connects: 2, errors: 0 })
        expect(stats.closes).toBeGreaterThanOrEqual(1)

        // Dropped under an open transaction: the next statement fails, nothing crashes, the next query works.
        const failed = await registry.database
          .transaction(async (tx) => {
            await tx.query('select 1')
            gateway.dropAll()
            await expect.poll(() => gateway.openConnections).toBe(0)
            await tx.query('select 2')
          })
          .catch((e: unknown) => e)
        // The transaction's connection broke (CONNECTION_LOST: the server rolled it back); the statement
        // itself never reached the server and is reported as not run.
        expect(failed).toMatchObject({ code: 'CONNECTION_LOST', mayHaveRun: false })
        expect((failed as Error).message).toMatch(/not queryable/)
        expect((await registry.database.query('select 3 as x')).rows).toEqual([{ x: 3 }])
      } finally {
        await registry.disconnect()
        await gateway.close()
      }
    })

    it('falls back to BEGIN … COMMIT when pipelining is off (2 more round trips for a schema)', async () => {
      const registry = registryFor('neon-ws', {}, true)
      const scoped = registry.using(undefined, { schema: 'pg_catalog' })
      try {
        await registry.database.query('select 1')
        pipelineInternals.pipelining = false
        gw.slowWs.resetCounters()
        expect((await scoped.query<{ s: string }>('select current_schema() as s, $1::int as n', [1])).rows).toEqual([
          { s: 'pg_catalog', n: 1 },
        ])
        expect(gw.slowWs.roundTrips).toBe(3) // BEGIN + set_config, the statement, COMMIT
        const results = await scoped.batch([{ text: 'select 1 as a' }, { text: 'select current_schema() as s' }])
        expect(results.map((r) => r.rows[0])).toEqual([{ a: 1 }, { s: 'pg_catalog' }])
        expect(gw.slowWs.roundTrips).toBe(3 + 4)
        expect((await registry.database.query<{ s: string }>('select current_schema() as s')).rows).toEqual([
          { s: 'public' },
        ])
      } finally {
        pipelineInternals.pipelining = true
        await registry.disconnect()
      }
    })
  })

  describe('round trips (20 ms each way at the gateway), equal to the raw driver', () => {
    it('neon-http: 1 to the first row, as raw neon(); a schema statement and a batch also 1', async () => {
      const { slowHttp } = gw
      const saved = neonConfig.opts.fetchEndpoint
      neonConfig.fetchEndpoint = slowHttp.endpoint
      slowHttp.resetCounters()
      try {
        await rawNeon(HTTP_URL)`select 1`
      } finally {
        neonConfig.opts.fetchEndpoint = saved
      }
      const raw = slowHttp.roundTrips
      expect(raw).toBe(1)

      const registry = registryFor('neon-http', {}, true)
      try {
        slowHttp.resetCounters()
        const started = performance.now()
        await registry.database.query('select 1 as x')
        expect(performance.now() - started).toBeGreaterThanOrEqual(38)
        expect(slowHttp.roundTrips).toBe(raw)
        await registry.using(undefined, { schema: 'public' }).query('select 2')
        expect(slowHttp.roundTrips).toBe(2)
        await registry.using(undefined, { schema: 'public' }).batch([{ text: 'select 3' }, { text: 'select 4' }])
        expect(slowHttp.roundTrips).toBe(3)
      } finally {
        await registry.disconnect()
      }
    })

    it(
      'neon-ws: 3 to the first row (upgrade, startup, query), as a raw Pool; ' +
        'then 1 per query, schema and batch included',
      async () => {
        const { slowWs } = gw
        const saved = { ...neonConfig.opts }
        Object.assign(neonConfig, {
          webSocketConstructor: ws,
          wsProxy: slowWs.wsProxy,
          useSecureWebSocket: false,
          pipelineConnect: false,
        })
        const pool = new Pool({ connectionString: HTTP_URL })
        slowWs.resetCounters()
        let raw: number[]
        try {
          await pool.query('select 1')
          raw = [slowWs.roundTrips]
          await pool.query('select 2')
          raw.push(slowWs.roundTrips)
        } finally {
          await pool.end()
          neonConfig.opts = saved
        }
        await expect.poll(() => slowWs.openConnections).toBe(0) // the raw pool's goodbye has arrived
        expect(raw).toEqual([3, 4])

        const registry = registryFor('neon-ws', {}, true)
        const scoped = registry.using(undefined, { schema: 'public' })
        try {
          slowWs.resetCounters()
          const started = performance.now()
          await registry.database.query('select 1')
          expect(performance.now() - started).toBeGreaterThanOrEqual(3 * 40 - 2)
          expect(slowWs.roundTrips).toBe(raw[0])
          await registry.database.query('select 2')
          expect(slowWs.roundTrips).toBe(raw[1])
          await scoped.query('select $1::int as n', [3])
          expect(slowWs.roundTrips).toBe(5) // schema: pipelined with the statement, no extra round trip
          await scoped.query('select 4')
          expect(slowWs.roundTrips).toBe(6) // schema, no parameters: one simple-protocol message
          await registry.database.batch([{ text: 'select 1' }, { text: 'select 2' }, { text: 'select 3' }])
          expect(slowWs.roundTrips).toBe(7) // batch: one round trip
          await scoped.batch([{ text: 'select 1' }, { text: 'select 2' }])
          expect(slowWs.roundTrips).toBe(8)
          await registry.database.transaction(async (tx) => {
            await tx.query('select 1')
            await tx.query('select 2')
          })
          expect(slowWs.roundTrips).toBe(8 + 4) // BEGIN, two statements, COMMIT
          await scoped.transaction((tx) => tx.query('select 1'))
          expect(slowWs.roundTrips).toBe(12 + 3) // BEGIN with search_path in one message, the statement, COMMIT
          expect(slowWs.connectionsOpened).toBe(1)
        } finally {
          await registry.disconnect()
        }
      },
    )

    it('registry.connect() opens the connection; the first query then costs 1 (3 in all, as raw)', async () => {
      const { slowWs } = gw
      const registry = registryFor('neon-ws', { max: 2 }, true)
      try {
        await expect.poll(() => slowWs.openConnections).toBe(0)
        slowWs.resetCounters()
        await registry.connect()
        expect(slowWs.roundTrips).toBe(2)
        await registry.database.query('select 1')
        expect(slowWs.roundTrips).toBe(3)
      } finally {
        await registry.disconnect()
      }
    })
  })

  it('classifies driver errors', () => {
    expect(
      classifyNeon(Object.assign(new Error('duplicate key'), { code: '23505', constraint: 'k', detail: 'd' })),
    ).toEqual({ sqlState: '23505', constraint: 'k', detail: 'd' })
    expect(classifyNeon(Object.assign(new Error('password authentication failed'), { code: '28P01' }))).toEqual({
      sqlState: '28P01',
      auth: true,
    })
    expect(classifyNeon(Object.assign(new Error('sorry, too many clients already'), { code: '53300' }))).toEqual({
      sqlState: '53300',
      transient: true,
      notSent: true,
    })
    expect(
      classifyNeon(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })),
    ).toEqual({ sqlState: '57P01', transient: true, lostMaybeRun: true })
    expect(classifyNeon(new Error('Client has encountered a connection error and is not queryable'))).toEqual({
      notSent: true,
    })
    expect(classifyNeon(new Error('Connection terminated unexpectedly'))).toEqual({ lostMaybeRun: true })
    expect(classifyNeon(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toEqual({
      lostMaybeRun: true,
      transient: true,
    })
    expect(
      classifyNeon(
        Object.assign(new Error('Error connecting to database: TypeError: fetch failed'), {
          sourceError: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
        }),
      ),
    ).toEqual({ notSent: true, transient: true })
    expect(classifyNeon(new Error('Server error (HTTP status 401): bad token'))).toEqual({ auth: true })
    expect(classifyNeon('nonsense')).toEqual({})
  })

  it('leaves no server connection behind once registries and gateways are closed', async () => {
    await closeGateways()
    expect(await waitForConnectionCount(0, APP)).toBe(0)
  })
})
