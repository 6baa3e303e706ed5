import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient as createNodeClient, LibsqlError, type Client, type Config } from '@libsql/client'
import { createClient as createWebClient } from '@libsql/client/web'
import { startHranaGateway, type HranaGateway } from '../support/hrana-gateway.js'

const TOKEN = 'test-token'
let dir: string
let gw: HranaGateway

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lazydb-hrana-'))
  gw = await startHranaGateway({ file: join(dir, 'db.sqlite'), authToken: TOKEN })
  const c = createNodeClient({ url: gw.url, authToken: TOKEN })
  await c.executeMultiple(`
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT);
    CREATE TABLE vals (id INTEGER PRIMARY KEY, i INTEGER, f REAL, t TEXT, b BLOB, n TEXT);
  `)
  c.close()
})
afterAll(async () => {
  await gw?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function waitFor(cond: () => boolean, ms = 2000) {
  for (const until = Date.now() + ms; !cond() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10))
  return cond()
}

async function rejection(p: Promise<unknown>): Promise<LibsqlError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(LibsqlError)
  return e as LibsqlError
}

describe.each([
  ['@libsql/client', createNodeClient],
  ['@libsql/client/web', createWebClient],
] as const)('%s through the Hrana gateway', (label, create) => {
  const open = (config: Partial<Config> = {}): Client => create({ url: gw.url, authToken: TOKEN, ...config })
  const tag = label.endsWith('web') ? 'web' : 'node'

  it('executes with positional and named args in one round trip, closing the stream', async () => {
    const c = open()
    gw.resetCounters()
    const ins = await c.execute('INSERT INTO users (email, name) VALUES (?, ?)', [`a-${tag}@x`, 'Ann'])
    expect(gw.roundTrips).toBe(1) // execute + close pipelined
    expect(gw.openStreams()).toBe(0)
    expect(ins.rowsAffected).toBe(1)
    expect(typeof ins.lastInsertRowid).toBe('bigint')

    for (const sql of [
      'SELECT name FROM users WHERE email = :e',
      'SELECT name FROM users WHERE email = $e',
      'SELECT name FROM users WHERE email = @e',
    ]) {
      const rs = await c.execute({ sql, args: { e: `a-${tag}@x` } })
      expect(rs.rows.map((r) => r.name)).toEqual(['Ann'])
    }
    const rs = await c.execute({ sql: 'SELECT id, email, name FROM users WHERE id = ?', args: [ins.lastInsertRowid!] })
    expect(rs.columns).toEqual(['id', 'email', 'name'])
    expect(rs.columnTypes).toEqual(['INTEGER', 'TEXT', 'TEXT'])
    expect(rs.rows[0]?.email).toBe(`a-${tag}@x`)
    expect(rs.rowsAffected).toBe(0)
    c.close()
  })

  it('round-trips integer (> 2^53), float, text, blob and null values', async () => {
    const big = 2n ** 53n + 1n
    const c = open({ intMode: 'bigint' })
    const { lastInsertRowid } = await c.execute({
      sql: 'INSERT INTO vals (i, f, t, b, n) VALUES (?, ?, ?, ?, ?)',
      args: [big, 1.5, 'héllo ✓', new Uint8Array([0, 1, 254, 255]), null],
    })
    const sql = 'SELECT i, f, t, b, n, typeof(i) ti, typeof(f) tf, 42 lit, 2.0 two FROM vals WHERE id = ?'
    const row = (await c.execute({ sql, args: [lastInsertRowid!] })).rows[0]!
    expect(row.i).toBe(big)
    expect(row.f).toBe(1.5)
    expect(row.t).toBe('héllo ✓')
    expect(row.b).toBeInstanceOf(ArrayBuffer)
    expect([...new Uint8Array(row.b as ArrayBuffer)]).toEqual([0, 1, 254, 255])
    expect(row.n).toBeNull()
    expect([row.ti, row.tf, row.lit, row.two]).toEqual(['integer', 'real', 42n, 2])
    c.close()

    const s = open({ intMode: 'string' })
    expect((await s.execute({ sql, args: [lastInsertRowid!] })).rows[0]?.i).toBe(big.toString())
    s.close()
    const n = open() // default intMode 'number' refuses unsafe integers
    await expect(n.execute({ sql, args: [lastInsertRowid!] })).rejects.toThrow(RangeError)
    n.close()
  })

  it("runs batch(..., 'write') atomically", async () => {
    const c = open()
    const ok = await c.batch(
      [
        { sql: 'INSERT INTO users (email) VALUES (?)', args: [`b1-${tag}@x`] },
        { sql: 'SELECT count(*) AS n FROM users WHERE email = ?', args: [`b1-${tag}@x`] },
      ],
      'write',
    )
    expect(ok[1]?.rows[0]?.n).toBe(1)

    const e = await rejection(
      c.batch(
        [
          { sql: 'INSERT INTO users (email) VALUES (?)', args: [`b2-${tag}@x`] },
          { sql: 'INSERT INTO users (email) VALUES (?)', args: [`b1-${tag}@x`] }, // duplicate
        ],
        'write',
      ),
    )
    expect(e.code).toBe('SQLITE_CONSTRAINT_UNIQUE')
    const rs = await c.execute({ sql: 'SELECT count(*) AS n FROM users WHERE email = ?', args: [`b2-${tag}@x`] })
    expect(rs.rows[0]?.n).toBe(0) // first statement rolled back
    expect(await waitFor(() => gw.openStreams() === 0)).toBe(true)
    c.close()
  })

  it('commits and rolls back interactive transactions', async () => {
    const c = open()
    const tx = await c.transaction('write')
    await tx.execute({ sql: 'INSERT INTO users (email) VALUES (?)', args: [`t1-${tag}@x`] })
    const inside = await tx.execute({ sql: 'SELECT count(*) AS n FROM users WHERE email = ?', args: [`t1-${tag}@x`] })
    expect(inside.rows[0]?.n).toBe(1)
    expect(gw.openStreams()).toBe(1) // the stream (and its connection) is kept by the baton
    await tx.commit()
    expect(await waitFor(() => gw.openStreams() === 0)).toBe(true)

    const tx2 = await c.transaction('write')
    await tx2.batch([
      { sql: 'INSERT INTO users (email) VALUES (?)', args: [`t2-${tag}@x`] },
      { sql: 'UPDATE users SET name = ? WHERE email = ?', args: ['gone', `t1-${tag}@x`] },
    ])
    await tx2.rollback()
    const rs = await c.execute({
      sql: 'SELECT email, name FROM users WHERE email IN (?, ?)',
      args: [`t1-${tag}@x`, `t2-${tag}@x`],
    })
    expect(rs.rows.map((r) => [r.email, r.name])).toEqual([[`t1-${tag}@x`, null]])
    c.close()
  })

  it('surfaces a constraint error code', async () => {
    const c = open()
    const e = await rejection(c.execute({ sql: 'INSERT INTO users (email) VALUES (?)', args: [`a-${tag}@x`] }))
    expect(e.code).toBe('SQLITE_CONSTRAINT_UNIQUE')
    expect(e.message).toMatch(/UNIQUE constraint failed: users\.email/)
    const nn = await rejection(c.execute('INSERT INTO users (email) VALUES (NULL)'))
    expect(nn.code).toBe('SQLITE_CONSTRAINT_NOTNULL')
    const syntax = await rejection(c.execute('SELEC 1'))
    expect(syntax.code).toBe('SQLITE_ERROR')
    c.close()
  })

  it('rejects a wrong or missing token with HTTP 401', async () => {
    for (const authToken of ['wrong', undefined]) {
      const c = create({ url: gw.url, ...(authToken ? { authToken } : {}) })
      const e = await rejection(c.execute('SELECT 1'))
      expect(e.code).toBe('SERVER_ERROR')
      expect(e.message).toContain('401')
      c.close()
    }
    expect(gw.openStreams()).toBe(0)
  })

  it('leaves no open streams after client.close(), even with a transaction in flight', async () => {
    const c = open()
    const tx = await c.transaction('write')
    await tx.execute({ sql: 'INSERT INTO users (email) VALUES (?)', args: [`c-${tag}@x`] })
    expect(gw.openStreams()).toBe(1)
    c.close()
    expect(await waitFor(() => gw.openStreams() === 0)).toBe(true)
    const check = open()
    const rs = await check.execute({ sql: 'SELECT count(*) AS n FROM users WHERE email = ?', args: [`c-${tag}@x`] })
    expect(rs.rows[0]?.n).toBe(0) // closing the stream rolled back and released the write lock
    check.close()
  })
})

describe('gateway behaviour', () => {
  it('expires idle streams, applies delayMs, and works without a token', async () => {
    const g = await startHranaGateway({ file: join(dir, 'other.sqlite'), delayMs: 40, streamIdleMs: 150 })
    try {
      const c = createNodeClient({ url: g.url })
      const started = Date.now()
      expect((await c.execute('SELECT 1 AS one')).rows[0]?.one).toBe(1)
      expect(Date.now() - started).toBeGreaterThanOrEqual(35)
      const tx = await c.transaction('write')
      await tx.execute('CREATE TABLE t (x)')
      expect(g.openStreams()).toBe(1)
      expect(await waitFor(() => g.openStreams() === 0)).toBe(true)
      expect([g.roundTrips, g.streamsOpened]).toEqual([2, 2])
      const e = await rejection(tx.execute('INSERT INTO t VALUES (1)'))
      expect(e.code).toBe('STREAM_EXPIRED')
      expect(e.message).toMatch(/expired/)
      c.close()
    } finally {
      await g.close()
    }
  })
})

describe('gateway protocol details (raw v2 JSON)', () => {
  type Body = {
    baton: string | null
    // biome-ignore lint/suspicious/noExplicitAny: raw protocol JSON, read field by field in each test
    results: { type: string; response?: any; error?: { message: string; code: string } }[]
  }
  const post = async (body: unknown, token: string | undefined = TOKEN) => {
    const res = await fetch(`${gw.url}/v2/pipeline`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as Body }
  }
  const stmt = (sql: string, extra: object = {}) => ({ sql, args: [], named_args: [], want_rows: true, ...extra })

  it('answers version probes so the client keeps v2', async () => {
    expect((await fetch(`${gw.url}/v2`)).status).toBe(200)
    expect((await fetch(`${gw.url}/v3`)).status).toBe(404)
    expect((await fetch(`${gw.url}/v3-protobuf`)).status).toBe(404)
  })

  it('handles store_sql, sequence, describe, get_autocommit, batch conditions and batons', async () => {
    const a = await post({
      requests: [
        { type: 'store_sql', sql_id: 7, sql: 'SELECT :x AS x, ?2 AS y' },
        {
          type: 'execute',
          stmt: {
            sql_id: 7,
            args: [],
            named_args: [{ name: ':x', value: { type: 'text', value: 'hi' } }],
            want_rows: true,
          },
        },
        { type: 'describe', sql_id: 7 },
        { type: 'sequence', sql: 'CREATE TABLE IF NOT EXISTS raw (v); BEGIN; INSERT INTO raw VALUES (1);' },
        { type: 'get_autocommit' },
        {
          type: 'batch',
          batch: {
            steps: [
              { stmt: stmt('INSERT INTO raw VALUES (2)') },
              { condition: { type: 'error', step: 0 }, stmt: stmt('SELECT 1') },
              { stmt: stmt('SELECT * FROM nope') },
              {
                condition: {
                  type: 'and',
                  conds: [
                    { type: 'ok', step: 0 },
                    { type: 'error', step: 2 },
                  ],
                },
                stmt: stmt('SELECT count(*) FROM raw'),
              },
              {
                condition: {
                  type: 'or',
                  conds: [{ type: 'is_autocommit' }, { type: 'not', cond: { type: 'ok', step: 3 } }],
                },
                stmt: stmt('SELECT 2'),
              },
            ],
          },
        },
        { type: 'close_sql', sql_id: 7 },
        { type: 'execute', stmt: { sql_id: 7, args: [], named_args: [], want_rows: true } },
      ],
    })
    expect(a.status).toBe(200)
    const r = a.body.results
    expect(r.map((x) => x.type)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'error'])
    expect(r[1]!.response.result.rows).toEqual([[{ type: 'text', value: 'hi' }, { type: 'null' }]])
    expect(r[2]!.response.result).toMatchObject({
      params: [{ name: ':x' }, { name: '?2' }],
      is_explain: false,
      is_readonly: true,
    })
    expect(r[4]!.response.is_autocommit).toBe(false)
    const batch = r[5]!.response.result
    expect(batch.step_results.map((x: unknown) => x !== null)).toEqual([true, false, false, true, false])
    expect(batch.step_errors.map((x: unknown) => x !== null)).toEqual([false, false, true, false, false])
    expect(batch.step_results[3].rows).toEqual([[{ type: 'integer', value: '2' }]])
    expect(r[7]!.error!.code).toBe('SQL_NOT_FOUND')
    expect(a.body.baton).toEqual(expect.any(String))
    expect(gw.openStreams()).toBe(1)

    const b = await post({
      baton: a.body.baton,
      requests: [{ type: 'execute', stmt: stmt('ROLLBACK') }, { type: 'get_autocommit' }],
    })
    expect(b.body.results[1]!.response.is_autocommit).toBe(true)
    expect(b.body.baton).not.toBe(a.body.baton)
    const stale = await post({ baton: a.body.baton, requests: [{ type: 'close' }] }) // batons are single-use
    expect(stale.status).toBe(400)
    expect(stale.body).toMatchObject({ code: 'STREAM_EXPIRED' })
    const c = await post({ baton: b.body.baton, requests: [{ type: 'close' }, { type: 'get_autocommit' }] })
    expect(c.body.baton).toBeNull()
    expect(c.body.results[1]!.error!.code).toBe('STREAM_CLOSED')
    expect(gw.openStreams()).toBe(0)
  })

  it('makes a second writer wait for the first instead of failing with SQLITE_BUSY', async () => {
    const first = await post({ requests: [{ type: 'execute', stmt: stmt('BEGIN IMMEDIATE') }] })
    const second = post({
      requests: [
        { type: 'execute', stmt: stmt('BEGIN IMMEDIATE') },
        { type: 'execute', stmt: stmt('ROLLBACK') },
        { type: 'close' },
      ],
    })
    await new Promise((r) => setTimeout(r, 50))
    await post({ baton: first.body.baton, requests: [{ type: 'execute', stmt: stmt('ROLLBACK') }, { type: 'close' }] })
    expect((await second).body.results.map((x) => x.type)).toEqual(['ok', 'ok', 'ok'])
    expect(gw.openStreams()).toBe(0)
  })
})
