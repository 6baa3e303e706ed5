// The liveness check on use (DriverClient.isAlive, read by WarmClient.isFresh): a warm client that
// says it cannot be used again (the user closed the libSQL client or ended the neon-ws Pool that
// client() handed out) is replaced before the next statement reaches it. Nothing else may do the
// recovering: the statement is not sent to the dead client and then retried (no retry event, no
// error counted), and the close is reported as 'stale', not 'lost'. Idle age plays no part: the
// libSQL file is not a socket, and the Pool's idleTimeoutMs is far away.
import type { Client } from '@libsql/client'
import type { Pool } from '@neondatabase/serverless'
import type pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { handler, Registry, type CloseEvent, type RetryEvent } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import { adminClient, neonWs, terminateLeftovers, uniqueApp } from './pool-support.js'
import { within } from './support.js'

const pgUp = await requirePostgres()
const tmp = tempDir('lazydb-dead-client-')
afterAll(() => tmp.remove())

function observed() {
  const closes: CloseEvent['reason'][] = []
  const retries: RetryEvent[] = []
  const errors: unknown[] = []
  const on = {
    close: (event: CloseEvent) => void closes.push(event.reason),
    retry: (event: RetryEvent) => void retries.push(event),
    error: (error: unknown) => void errors.push(error),
  }
  return { closes, retries, errors, on }
}

describe('a warm client that is no longer alive', () => {
  it('libSQL file: a client the user closed is replaced before the next statement', async () => {
    const { closes, retries, errors, on } = observed()
    const registry = new Registry({ database: libsql(`file:${tmp.file('dead.db')}`), platform: 'node', on })
    const db = registry.database
    const closeTheClient = handler(registry, async () => {
      await db.query('create table if not exists notes (body text)')
      await db.query('insert into notes values (?)', ['written before the close'])
      const client = (await db.client()) as Client
      client.close()
      return client.closed
    })
    const readNotes = handler(registry, async () => (await db.query<{ body: string }>('select body from notes')).rows)
    try {
      expect(await within(closeTheClient(), 3000, 'the invocation that closes the client')).toBe(true)
      expect(closes).toEqual([])
      const rows = await within(readNotes(), 3000, 'the invocation after the close')
      expect(rows).toEqual([{ body: 'written before the close' }])
      expect(closes).toEqual(['stale'])
      expect(retries).toEqual([])
      expect(errors).toEqual([])
      expect(registry.stats().databases.default).toMatchObject({ connects: 2, closes: 1, errors: 0, retries: 0 })
      expect(db.isConnected).toBe(true)
    } finally {
      await registry.disconnect()
    }
  })

  describe.skipIf(!pgUp)('neon-ws', () => {
    let gateway: NeonWsGateway | undefined
    let admin: pg.Client | undefined
    afterAll(async () => {
      await admin?.end()
      await gateway?.close()
    })

    it('a Pool the user ended is replaced before the next statement', async () => {
      gateway = await startNeonWsGateway()
      admin = await adminClient()
      const app = uniqueApp('ended')
      const { closes, retries, errors, on } = observed()
      const registry = new Registry({
        database: neonWs(gateway, app, { max: 1 }),
        platform: 'aws-lambda',
        idleTimeoutMs: 60_000,
        warn: false,
        on,
      })
      const db = registry.database
      const pidOf = async () => (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
      const endThePool = handler(registry, async () => {
        const pid = await pidOf()
        await ((await db.client()) as Pool).end()
        return pid
      })
      try {
        const before = await within(endThePool(), 3000, 'the invocation that ends the Pool')
        expect(await waitForConnectionCount(0, app)).toBe(0)
        expect(closes).toEqual([])
        const after = await within(handler(registry, pidOf)(), 3000, 'the invocation after pool.end()')
        expect(after).not.toBe(before)
        expect(closes).toEqual(['stale'])
        expect(retries).toEqual([])
        expect(errors).toEqual([])
        expect(registry.stats().databases.default).toMatchObject({ connects: 2, closes: 1, errors: 0, retries: 0 })
      } finally {
        await registry.disconnect()
        await terminateLeftovers(admin, app)
      }
    })
  })
})
