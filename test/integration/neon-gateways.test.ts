// The unmodified @neondatabase/serverless driver, driven through the local Neon gateways
// against the real PostgreSQL. Also pins the HTTP wire contract the gateway relies on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import ws from 'ws'
import { Client, NeonDbError, Pool, neon, neonConfig } from '@neondatabase/serverless'
import { MASKED_PASSWORD, startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgConnectionCount, pgUrlFor, requirePostgres, waitForConnectionCount, pgAdmin } from '../support/postgres.js'

const pgUp = await requirePostgres()

// A unique application_name lets connection counts ignore other test files running in parallel.
const APP = `lazydb-neon-gw-${process.pid}`
const NEON_HOST = 'ep-lazydb-test.neon.tech'
const URL_ = pgUrlFor(NEON_HOST, { password: 'not-checked', applicationName: APP })
const T = `neon_gw_${process.pid}`

/** A Client configured per client (`client.neonConfig`), leaving the globals alone. */
function wsClient(gateway: NeonWsGateway): Client {
  const client = new Client(URL_)
  client.neonConfig.webSocketConstructor = ws
  client.neonConfig.wsProxy = gateway.wsProxy
  client.neonConfig.useSecureWebSocket = false
  client.neonConfig.pipelineConnect = false // trust auth: no cleartext password unasked
  return client
}

describe.skipIf(!pgUp)('Neon driver through the local gateways', () => {
  let baseline = 0

  beforeAll(async () => {
    baseline = await pgConnectionCount(APP)
    await pgAdmin(
      `DROP TABLE IF EXISTS ${T}; CREATE TABLE ${T} (id int PRIMARY KEY, note text CONSTRAINT ${T}_note_key UNIQUE)`,
    )
  })
  afterAll(async () => {
    await pgAdmin(`DROP TABLE IF EXISTS ${T}`)
  })

  describe('HTTP (neon(), sql.transaction)', () => {
    let gw: NeonHttpGateway
    const sql = neon(URL_)

    beforeAll(async () => {
      gw = await startNeonHttpGateway({ record: true })
      neonConfig.fetchEndpoint = gw.endpoint // global only
    })
    afterAll(async () => {
      await gw.close()
    })

    it('runs a query with parameters', async () => {
      expect(await sql`SELECT ${1}::int + ${2}::int AS sum, ${'x'}::text AS t`).toEqual([{ sum: 3, t: 'x' }])
      expect(await sql.query('SELECT $1::text AS a', ['hi'], { arrayMode: true })).toEqual([['hi']])
    })

    it('returns values as text that the driver parses by type', async () => {
      const [row] = await sql`SELECT 9007199254740993::int8 AS big, 1.50::numeric AS num, '{"a":[1,2]}'::json AS j,
        '{"b":true}'::jsonb AS jb, '\\xdeadbeef'::bytea AS bin, ${Buffer.from([1, 2, 255])}::bytea AS bin2,
        '2024-01-02T03:04:05.678Z'::timestamptz AS ts, ARRAY[1,2,NULL]::int[] AS arr, NULL::text AS nothing,
        true AS flag`
      expect(row).toMatchObject({
        big: '9007199254740993',
        num: '1.50',
        j: { a: [1, 2] },
        jb: { b: true },
        arr: [1, 2, null],
        nothing: null,
        flag: true,
      })
      expect(Buffer.from(row!.bin).toString('hex')).toBe('deadbeef')
      expect(Buffer.from(row!.bin2).toString('hex')).toBe('0102ff')
      expect((row!.ts as Date).toISOString()).toBe('2024-01-02T03:04:05.678Z')
    })

    it('reports Postgres errors with SQLSTATE and fields', async () => {
      await sql`INSERT INTO ${sql.unsafe(T)} VALUES (1, 'dup')`
      const err = await sql`INSERT INTO ${sql.unsafe(T)} VALUES (2, 'dup')`.catch((e: unknown) => e)
      expect(err).toBeInstanceOf(NeonDbError)
      expect(err).toMatchObject({
        code: '23505',
        constraint: `${T}_note_key`,
        table: T,
        severity: 'ERROR',
        schema: 'public',
      })
      expect((err as NeonDbError).detail).toMatch(/already exists/)
      const syntax = await sql`SELEC 1`.catch((e: unknown) => e)
      expect(syntax).toMatchObject({ code: '42601', position: '1' })
    })

    it('runs a transaction atomically and honours its options', async () => {
      const ok = await sql.transaction([
        sql`INSERT INTO ${sql.unsafe(T)} VALUES (10, 'a')`,
        sql`SELECT count(*)::int AS n FROM ${sql.unsafe(T)} WHERE id = 10`,
      ])
      expect(ok[1]).toEqual([{ n: 1 }])
      const failed = sql.transaction([
        sql`INSERT INTO ${sql.unsafe(T)} VALUES (11, 'b')`,
        sql`INSERT INTO ${sql.unsafe(T)} VALUES (10, 'c')`,
      ])
      await expect(failed).rejects.toMatchObject({ code: '23505' })
      expect(await sql`SELECT id FROM ${sql.unsafe(T)} WHERE id = 11`).toEqual([]) // first statement rolled back
      await expect(
        sql.transaction([sql`INSERT INTO ${sql.unsafe(T)} VALUES (12, 'd')`], { readOnly: true }),
      ).rejects.toMatchObject({ code: '25006' })
      const [shown] = await sql.transaction([sql`SHOW transaction_isolation`], { isolationLevel: 'Serializable' })
      expect(shown).toEqual([{ transaction_isolation: 'serializable' }])
    })

    it('CONTRACT: the driver sends exactly these headers and bodies', async () => {
      gw.resetCounters()
      await sql`SELECT ${1}::int AS one`
      await sql.transaction([sql`SELECT ${'a'}::text AS a`, sql`SELECT 2 AS b`], {
        isolationLevel: 'RepeatableRead',
        readOnly: true,
        deferrable: false,
      })
      expect(gw.roundTrips).toBe(2)
      const [query, tx] = gw.requests
      const neonHeaders = (h: Record<string, string>) =>
        Object.fromEntries(Object.entries(h).filter(([name]) => name.startsWith('neon-') || name === 'authorization'))
      const common = {
        'neon-connection-string': `postgresql://postgres:${MASKED_PASSWORD}@${NEON_HOST}/test?application_name=${APP}`,
        'neon-raw-text-output': 'true',
        'neon-array-mode': 'true',
      }
      expect(query).toMatchObject({ method: 'POST', path: '/sql' })
      expect(query!.headers['content-type']).toBe('text/plain;charset=UTF-8') // a JSON string, no JSON content type
      expect(neonHeaders(query!.headers)).toEqual(common)
      expect(query!.body).toEqual({ query: 'SELECT $1::int AS one', params: ['1'] })
      expect(neonHeaders(tx!.headers)).toEqual({
        ...common,
        'neon-batch-isolation-level': 'RepeatableRead',
        'neon-batch-read-only': 'true',
        'neon-batch-deferrable': 'false',
      })
      expect(tx!.body).toEqual({
        queries: [
          { query: 'SELECT $1::text AS a', params: ['a'] },
          { query: 'SELECT 2 AS b', params: [] },
        ],
      })
    })

    it('costs one round trip per query', async () => {
      const slow = await startNeonHttpGateway({ delayMs: 20 })
      neonConfig.fetchEndpoint = slow.endpoint
      try {
        const started = performance.now()
        await sql`SELECT 1`
        expect(slow.roundTrips).toBe(1)
        expect(performance.now() - started).toBeGreaterThanOrEqual(38)
      } finally {
        neonConfig.fetchEndpoint = gw.endpoint
        await slow.close()
      }
    })

    it('fails like a refused connection while refusing', async () => {
      gw.refuse(true)
      await expect(sql`SELECT 1`).rejects.toThrow(/Error connecting to database/)
      gw.refuse(false)
      expect(await sql`SELECT 1 AS x`).toEqual([{ x: 1 }])
    })
  })

  describe('WebSocket (Client, Pool)', () => {
    let gw: NeonWsGateway
    let slow: NeonWsGateway

    beforeAll(async () => {
      gw = await startNeonWsGateway()
      slow = await startNeonWsGateway({ delayMs: 20 })
    })
    afterAll(async () => {
      await Promise.all([gw.close(), slow.close()])
    })

    it('Client: queries and a transaction', async () => {
      const client = wsClient(gw)
      await client.connect()
      expect(gw.lastAddress).toBe(`${NEON_HOST}:5432`)
      await expect.poll(() => pgConnectionCount(APP)).toBe(1) // the HTTP gateway's pools are gone by now
      const { rows } = await client.query('SELECT $1::int8 AS big, $2::text AS t, current_setting($3) AS app', [
        '42',
        'x',
        'application_name',
      ])
      expect(rows).toEqual([{ big: '42', t: 'x', app: APP }])
      await client.query('BEGIN')
      await client.query(`INSERT INTO ${T} VALUES (20, 'ws')`)
      await client.query('ROLLBACK')
      await client.query('BEGIN')
      await client.query(`INSERT INTO ${T} VALUES (21, 'ws2')`)
      await expect(client.query(`INSERT INTO ${T} VALUES (21, 'ws3')`)).rejects.toMatchObject({ code: '23505' })
      await client.query('ROLLBACK')
      expect((await client.query(`SELECT id FROM ${T} WHERE id IN (20, 21)`)).rows).toEqual([])
      await client.end()
      await expect.poll(() => gw.openConnections).toBe(0)
    })

    it('Pool: queries and a transaction (Pool clients need the global neonConfig)', async () => {
      const { webSocketConstructor, wsProxy, useSecureWebSocket, pipelineConnect } = neonConfig
      Object.assign(neonConfig, {
        webSocketConstructor: ws,
        wsProxy: gw.wsProxy,
        useSecureWebSocket: false,
        pipelineConnect: false,
      })
      const pool = new Pool({ connectionString: URL_, max: 2 })
      try {
        expect((await pool.query('SELECT 1 + 1 AS n')).rows).toEqual([{ n: 2 }])
        const client = await pool.connect()
        await client.query('BEGIN')
        await client.query(`INSERT INTO ${T} VALUES (30, 'pool')`)
        await client.query('COMMIT')
        client.release()
        expect((await pool.query(`SELECT note FROM ${T} WHERE id = 30`)).rows).toEqual([{ note: 'pool' }])
      } finally {
        await pool.end()
        Object.assign(neonConfig, { webSocketConstructor, wsProxy, useSecureWebSocket, pipelineConnect })
      }
      await expect.poll(() => gw.openConnections).toBe(0)
    })

    it('counts round trips: connect + first query = 3, each further query = 1', async () => {
      slow.resetCounters()
      const client = wsClient(slow)
      const started = performance.now()
      await client.connect()
      await client.query('SELECT 1')
      expect(slow.roundTrips).toBe(3) // upgrade, startup, query
      expect(performance.now() - started).toBeGreaterThanOrEqual(3 * 40 - 2)
      await client.query('SELECT $1::int AS n', [2])
      expect(slow.roundTrips).toBe(4)
      expect(slow.connectionsOpened).toBe(1)
      await client.end()
    })

    it('refuse() makes connect fail; dropAll() kills live connections', async () => {
      gw.refuse(true)
      // Driver 1.2.0 rejects with the WebSocket's ErrorEvent, not an Error.
      const refused: unknown = await wsClient(gw)
        .connect()
        .catch((e: unknown) => e)
      expect(refused).toMatchObject({ type: 'error', message: expect.stringMatching(/socket hang up/) })
      gw.refuse(false)

      const client = wsClient(gw)
      const errors: Error[] = []
      client.on('error', (e) => errors.push(e))
      await client.connect()
      expect(gw.openConnections).toBe(1)
      gw.dropAll()
      await expect.poll(() => gw.openConnections).toBe(0)
      expect(errors.map((e) => e.message)).toEqual(['Connection terminated unexpectedly'])
      await expect(client.query('SELECT 1')).rejects.toThrow(/not queryable/)
      // Driver 1.2.0 quirk: end() on a client whose connection already dropped never settles.
      const ending = client.end().then(() => 'ended')
      expect(await Promise.race([ending, new Promise((resolve) => setTimeout(resolve, 100, 'pending'))])).toBe(
        'pending',
      )
    })
  })

  it('leaves no server connection behind once clients and gateways are closed', async () => {
    expect(await waitForConnectionCount(baseline, APP)).toBe(baseline)
  })
})
