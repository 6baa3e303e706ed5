import { afterAll, describe, expect, it } from 'vitest'
import { createClient as createWebClient } from '@libsql/client/web'
import { Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { conformance, type Dialect } from '../support/conformance.js'
import { startHranaGateway, type HranaGateway } from '../support/hrana-gateway.js'
import { tempDir } from '../support/tmp.js'

const sqlite: Dialect = {
  param: () => '?',
  createTable: (t) => `create table ${t} (id integer primary key autoincrement, name text unique)`,
  dropTable: (t) => `drop table if exists ${t}`,
  lastInsertId: true,
}

const dirs = tempDir('lazydb-libsql-')
const gateways: HranaGateway[] = []
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()))
  dirs.remove()
})

/** A registry on a fresh Hrana gateway, over HTTP or its WebSocket side (more of that in libsql-ws.test.ts). */
async function remote(name: string, transport: 'http' | 'ws', web: boolean) {
  const gateway = await startHranaGateway({ file: dirs.file(`${name}.db`), authToken: 'tok-secret-123' })
  gateways.push(gateway)
  const options = web ? { authToken: 'tok-secret-123', createClient: createWebClient } : { authToken: 'tok-secret-123' }
  const url = transport === 'ws' ? gateway.ws.url : gateway.url
  return { registry: new Registry({ database: libsql(url, options), warn: false }), gateway }
}

conformance('libsql file', sqlite, async () => ({
  registry: new Registry({ database: `file:${dirs.file('conf.db')}`, warn: false }),
}))
conformance('libsql http (node client)', sqlite, async () => remote('http-node', 'http', false))
conformance('libsql http (web client)', sqlite, async () => remote('http-web', 'http', true))
conformance('libsql ws (node client)', sqlite, async () => remote('ws-node', 'ws', false))
conformance('libsql ws (web client)', sqlite, async () => remote('ws-web', 'ws', true))

describe('libsql types and transports', () => {
  it('round-trips integers, floats, text, blobs and null on a file database', async () => {
    const registry = new Registry({
      database: { url: `file:${dirs.file('types.db')}`, intMode: 'bigint' },
      warn: false,
    })
    const big = 2n ** 60n + 7n
    const { rows } = await registry.database.query<Record<string, unknown>>(
      'select ? as big, ? as f, ? as t, ? as b, ? as n',
      [big, 1.5, 'é', new Uint8Array([1, 2, 255]), null],
    )
    expect(rows[0]!.big).toBe(big)
    expect(rows[0]!.f).toBe(1.5)
    expect(rows[0]!.t).toBe('é')
    expect(new Uint8Array(rows[0]!.b as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 255]))
    expect(rows[0]!.n).toBeNull()
    await registry.disconnect()
  })

  it('supports named parameters', async () => {
    const registry = new Registry({ database: ':memory:', warn: false })
    const { rows } = await registry.database.query<{ v: string }>('select :name as v', { name: 'named' })
    expect(rows[0]!.v).toBe('named')
    await registry.disconnect()
  })

  it('keeps one HTTP client warm: one stream per request, the token never in errors', async () => {
    const { registry, gateway } = await remote('warm', 'http', false)
    for (let i = 0; i < 5; i++) await registry.database.query('select 1')
    expect(registry.stats().databases.default!.connects).toBe(1)
    expect(gateway.roundTrips).toBe(5)
    const bad = new Registry({ database: libsql(gateway.url, { authToken: 'wrong-token-456' }), warn: false })
    const error = await bad.database.query('select 1').catch((e: unknown) => e)
    expect(
      JSON.stringify(error) + String(error) + String((error as Error).stack) + String((error as Error).cause),
    ).not.toContain('wrong-token-456')
    await Promise.all([registry.disconnect(), bad.disconnect()])
  })

  it('creates the directory of a file: database on first use', async () => {
    const registry = new Registry({ database: `file:${dirs.file('nested/deeper/app.db')}`, warn: false })
    await registry.database.query('create table t (x)')
    expect(registry.database.isConnected).toBe(true)
    await registry.disconnect()
    expect(registry.database.isConnected).toBe(false)
  })

  it('rejects a schema: SQLite has none', () => {
    const registry = new Registry({ database: ':memory:', warn: false })
    expect(() => registry.using(undefined, { schema: 'tenant' })).toThrow(/no schemas/)
  })
})
