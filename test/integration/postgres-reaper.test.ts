// The fleet reaper on the Postgres TCP drivers (pg; postgres.js for what it shares), against the real
// PostgreSQL through a role capped with CONNECTION LIMIT (no server restart): idle connections of
// "frozen instances" of the same application fill the cap; a live lazydb instance with the reaper ends
// them, and leaves other applications' alone.
import pgPkg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Registry } from '@lazydb/core'
import { pg } from '@lazydb/core/pg'
import { postgres } from '@lazydb/core/postgres'
import { pgAdmin, requirePostgres } from '../support/postgres.js'

const pgUp = await requirePostgres()
const ROLE = `lazydb_reap_${process.pid}`
const PASSWORD = 'reap-pw-5150'
const APP = `lazydb-reap-${process.pid}`
const CAP = 5
const url = (app: string) => `postgres://${ROLE}:${PASSWORD}@127.0.0.1:5432/test?application_name=${app}`

/** What a frozen instance leaves on the server: a connection open and idle. */
async function frozenConnection(app: string): Promise<pgPkg.Client> {
  const client = new pgPkg.Client(url(app))
  client.on('error', () => {}) // the reaper ends it
  await client.connect()
  await client.query('select 1')
  return client
}

async function roleConnections(app?: string): Promise<number> {
  const admin = new pgPkg.Client('postgres://postgres@127.0.0.1:5432/test')
  await admin.connect()
  try {
    const filter = app === undefined ? '' : ' and application_name = $2'
    const { rows } = await admin.query(
      `select count(*)::int as n from pg_stat_activity where usename = $1${filter}`,
      app === undefined ? [ROLE] : [ROLE, app],
    )
    return rows[0].n
  } finally {
    await admin.end()
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Polls (backends exit asynchronously) until the count is `n` or 2 s have passed; resolves with the count. */
async function settledCount(app: string, n: number): Promise<number> {
  const deadline = Date.now() + 2000
  let count = await roleConnections(app)
  while (count !== n && Date.now() < deadline) {
    await sleep(20)
    count = await roleConnections(app)
  }
  return count
}
const left: pgPkg.Client[] = []

describe.skipIf(!pgUp)('pg fleet reaper', () => {
  beforeAll(async () => {
    await pgAdmin(`drop role if exists ${ROLE}`)
    await pgAdmin(`create role ${ROLE} login password '${PASSWORD}' connection limit ${CAP}`)
  })
  afterAll(async () => {
    await Promise.all(left.map((c) => c.end().catch(() => undefined)))
    await pgAdmin(`select pg_terminate_backend(pid) from pg_stat_activity where usename = '${ROLE}'`)
    await sleep(100)
    await pgAdmin(`drop role if exists ${ROLE}`).catch(() => undefined)
  })

  it('without the reaper, idle connections of frozen instances fill the cap: a new instance is refused', async () => {
    for (let i = 0; i < CAP; i++) left.push(await frozenConnection(APP))
    const registry = new Registry({
      database: pg(url(APP)),
      retry: { attempts: 2, totalMs: 300 },
      platform: 'aws-lambda',
      warn: false,
    })
    const error = await registry.database.query('select 1').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', sqlState: '53300' })
    await registry.disconnect({ force: true })
    await Promise.all(left.splice(0).map((c) => c.end()))
  })

  it("near the cap, a live instance ends its application's idle connections and no other application's", async () => {
    const other = `${APP}-other`
    left.push(await frozenConnection(other))
    for (let i = 0; i < CAP - 2; i++) left.push(await frozenConnection(APP))
    await sleep(250)
    const registry = new Registry({
      database: pg(url(APP), { reaper: { idleMs: 200, everyMs: 0 } }),
      platform: 'aws-lambda',
      warn: false,
    })
    // The instance's own connection makes CAP: the reaper sees the role full and ends the 3 idle ones.
    expect((await registry.database.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }])
    expect(await settledCount(APP, 1)).toBe(1)
    expect(await roleConnections(other)).toBe(1)
    // Room again: more instances connect.
    for (let i = 0; i < 3; i++) left.push(await frozenConnection(APP))
    await registry.disconnect()
    await Promise.all(left.splice(0).map((c) => c.end().catch(() => undefined)))
  })

  it('leaves a connection of its application alone while it holds a session advisory lock', async () => {
    const app = `${APP}-lock`
    const holder = await frozenConnection(app)
    await holder.query('select pg_advisory_lock(4242)')
    for (let i = 0; i < CAP - 3; i++) left.push(await frozenConnection(app))
    await sleep(250)
    const registry = new Registry({
      database: pg(url(app), { reaper: { idleMs: 200, everyMs: 0 } }),
      platform: 'aws-lambda',
      warn: false,
    })
    try {
      expect((await registry.database.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }])
      expect(await settledCount(app, 2)).toBe(2) // ours and the lock holder
      expect((await holder.query('select pg_advisory_unlock(4242) as freed')).rows).toEqual([{ freed: true }])
    } finally {
      await holder.end().catch(() => undefined)
      await registry.disconnect()
      await Promise.all(left.splice(0).map((c) => c.end().catch(() => undefined)))
    }
  })

  it('crowded by other applications, an instance closes its own connection after use instead of idling', async () => {
    const others = `${APP}-crowd`
    const crowd: pgPkg.Client[] = []
    for (let i = 0; i < CAP - 1; i++) crowd.push(await frozenConnection(others))
    left.push(...crowd)
    const registry = new Registry({
      database: pg(url(APP), { reaper: { everyMs: 0 } }),
      platform: 'aws-lambda',
      warn: false,
    })
    expect((await registry.database.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }])
    expect(await settledCount(APP, 0)).toBe(0)
    expect(await roleConnections(others)).toBe(CAP - 1) // not this application's: left alone
    await Promise.all(crowd.splice(0, 2).map((c) => c.end()))
    await settledCount(others, CAP - 3)
    await registry.database.query('select 1')
    expect(await settledCount(APP, 1)).toBe(1) // room again: kept warm
    await registry.disconnect()
    await Promise.all(left.splice(0).map((c) => c.end().catch(() => undefined)))
  })

  it('the server ends a connection idle past serverIdleMs itself; the next statement runs on a new one', async () => {
    const app = `${APP}-server-idle`
    const registry = new Registry({
      database: pg(url(app), { reaper: { serverIdleMs: 300 } }),
      platform: 'aws-lambda',
      warn: false,
    })
    const first = (await registry.database.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
    const deadline = Date.now() + 3000
    while ((await roleConnections(app)) > 0 && Date.now() < deadline) await sleep(50)
    expect(await roleConnections(app)).toBe(0)
    const second = (await registry.database.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
    expect(second).not.toBe(first)
    expect(registry.stats().databases.default).toMatchObject({ errors: 0 })
    await registry.disconnect()
  })

  it('postgres.js: near the cap, ends its application idle connections; the server ends idle ones too', async () => {
    const app = `${APP}-js`
    for (let i = 0; i < CAP - 2; i++) left.push(await frozenConnection(app))
    await sleep(250)
    const registry = new Registry({
      database: postgres(url(app), { reaper: { idleMs: 200, everyMs: 0, serverIdleMs: 400 } }),
      platform: 'aws-lambda',
      warn: false,
    })
    expect((await registry.database.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }])
    expect(await settledCount(app, 1)).toBe(1)
    const deadline = Date.now() + 3000
    while ((await roleConnections(app)) > 0 && Date.now() < deadline) await sleep(50)
    expect(await roleConnections(app)).toBe(0) // idle_session_timeout ended lazydb's own idle one
    expect((await registry.database.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }])
    await registry.disconnect()
    await Promise.all(left.splice(0).map((c) => c.end().catch(() => undefined)))
  })

  it('refuses a bad reaper setting at construction', () => {
    expect(() => new Registry({ database: pg(url(APP), { reaper: { usage: 2 } }), warn: false })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/reaper\.usage/) }),
    )
  })
})
