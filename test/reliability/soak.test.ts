// 10,000 handler invocations against the real PostgreSQL through the local Neon WebSocket gateway:
// most on a warm neon-ws pool (max 5), some request-scoped (a connection of their own, closed when
// the invocation ends), some with a transaction, some throwing. Server connections are counted
// while invocations are in flight (never above the pool max) and after (back to baseline), and
// the heap is measured after a full GC before and after (growth under 5 MB).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgConnectionCount, pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'

const pgUp = await requirePostgres()
const APP = `lazydb-soak-${process.pid}`
const WARM_APP = `${APP}-warm`
const SCOPED_APP = `${APP}-request`
const POOL_MAX = 5
const INVOCATIONS = 10_000
const CONCURRENCY = 25
const wsUrl = (app: string) =>
  `${pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: app })}&transport=ws`

// vitest cannot pass --expose-gc to its workers; the flag can still be set at run time, and a new
// context then gets a `gc` function.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

describe.skipIf(!pgUp)('soak: 10,000 invocations', () => {
  let gateway: NeonWsGateway
  let warm: Registry
  let scoped: Registry

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    const socket = { wsProxy: gateway.wsProxy, useSecureWebSocket: false, pipelineConnect: false as const }
    warm = new Registry({
      database: neon(wsUrl(WARM_APP), { ...socket, max: POOL_MAX, transport: 'ws' }),
      platform: 'node',
      warn: false,
    })
    scoped = new Registry({
      database: neon(wsUrl(SCOPED_APP), { ...socket, scope: 'request', transport: 'ws' }),
      platform: 'node',
      warn: false,
    })
  })
  afterAll(async () => {
    await Promise.all([warm?.disconnect(), scoped?.disconnect()])
    await gateway?.close()
  })

  it(
    '0 failures, server connections never above the pool max and back to baseline, ' + 'heap growth under 5 MB',
    async () => {
      const baseline = { warm: await pgConnectionCount(WARM_APP), scoped: await pgConnectionCount(SCOPED_APP) }
      const mine = new Error('thrown by fn')
      // Warm invocations get a platform context with waitUntil (as on Vercel or Netlify), which is
      // handed the idle-close promise of the warm socket each time: only the latest may stay pending.
      let pendingKeepAlive = 0
      let maxPendingKeepAlive = 0
      const ctx = {
        waitUntil(promise: Promise<unknown>) {
          maxPendingKeepAlive = Math.max(maxPendingKeepAlive, ++pendingKeepAlive)
          void promise.finally(() => pendingKeepAlive--)
        },
      }
      const warmFn = handler(warm, async (i: number, _ctx: typeof ctx) => {
        if (i % 50 === 7) {
          return warm.database.transaction(
            async (tx) => (await tx.query<{ n: number }>('select $1::int as n', [i])).rows[0]!.n,
          )
        }
        const { rows } = await warm.database.query<{ n: number }>('select $1::int as n', [i])
        if (i % 100 === 13) throw mine
        return rows[0]!.n
      })
      const scopedFn = handler(
        scoped,
        async (i: number) => (await scoped.database.sql<{ n: number }>`select ${i}::int as n`).rows[0]!.n,
      )

      const counts = { ok: 0, thrown: 0, failed: 0, scoped: 0, maxWarm: 0, maxScoped: 0, maxGateway: 0 }
      let next = 0
      async function one(i: number): Promise<void> {
        const scopedCall = i % 20 === 0
        try {
          const n = await (scopedCall ? scopedFn(i) : warmFn(i, ctx))
          if (n === i) counts.ok++
          else counts.failed++
          if (scopedCall) counts.scoped++
        } catch (error) {
          if (error === mine) counts.thrown++
          else counts.failed++
        }
      }
      async function run(total: number, sample: boolean): Promise<void> {
        const end = next + total
        while (next < end) {
          const batch: Promise<void>[] = []
          for (let k = 0; k < CONCURRENCY && next < end; k++) batch.push(one(next++))
          // Count server connections while the batch is in flight, every 20th batch.
          if (sample && (next / CONCURRENCY) % 20 === 0) {
            counts.maxGateway = Math.max(counts.maxGateway, gateway.openConnections)
            const [w, s] = await Promise.all([pgConnectionCount(WARM_APP), pgConnectionCount(SCOPED_APP)])
            counts.maxWarm = Math.max(counts.maxWarm, w)
            counts.maxScoped = Math.max(counts.maxScoped, s)
          }
          await Promise.all(batch)
        }
      }

      await run(1000, false) // warm-up: pools filled, code paths compiled
      const before = heapAfterGc()
      const started = performance.now()
      counts.ok = counts.thrown = counts.failed = counts.scoped = 0
      await run(INVOCATIONS, true)
      const seconds = (performance.now() - started) / 1000
      const after = heapAfterGc()
      const growthMb = (after - before) / 1024 / 1024
      const stats = { warm: warm.stats().databases.default!, scoped: scoped.stats().databases.default! }
      console.log(
        `[soak] ${INVOCATIONS} invocations in ${seconds.toFixed(1)} s (${Math.round(INVOCATIONS / seconds)}/s): ` +
          `ok ${counts.ok}, fn threw ${counts.thrown}, failed ${counts.failed}; ` +
          `request-scoped ${counts.scoped}; max server connections warm ${counts.maxWarm} (pool max ${POOL_MAX}), ` +
          `request-scoped ${counts.maxScoped}, gateway ${counts.maxGateway}; ` +
          `waitUntil promises pending at most ${maxPendingKeepAlive}, now ${pendingKeepAlive}; ` +
          `heap ${(before / 1024 / 1024).toFixed(1)} → ${(after / 1024 / 1024).toFixed(1)} MB ` +
          `(growth ${growthMb.toFixed(2)} MB); ` +
          `warm stats ${JSON.stringify(stats.warm)}; request stats ${JSON.stringify(stats.scoped)}`,
      )

      expect(counts.failed).toBe(0)
      expect(counts.ok + counts.thrown).toBe(INVOCATIONS)
      expect(counts.thrown).toBe(INVOCATIONS / 100)
      expect(counts.maxWarm).toBeGreaterThan(0)
      expect(counts.maxWarm).toBeLessThanOrEqual(POOL_MAX)
      expect(counts.maxScoped).toBeLessThanOrEqual(CONCURRENCY)
      expect(stats.warm).toMatchObject({ connects: 1, closes: 0, errors: 0, retries: 0 })
      expect(stats.scoped).toMatchObject({ errors: 0, retries: 0 })
      expect(stats.scoped.closes).toBe(stats.scoped.connects) // every request connection was closed
      expect(growthMb).toBeLessThan(5)
      // Each idle-close promise given to waitUntil settles when the next invocation takes over.
      expect(maxPendingKeepAlive).toBeLessThanOrEqual(CONCURRENCY)
      expect(pendingKeepAlive).toBe(1)

      // Request-scoped connections are gone as soon as their invocations ended; the warm pool stays.
      expect(await waitForConnectionCount(baseline.scoped, SCOPED_APP)).toBe(baseline.scoped)
      expect(await pgConnectionCount(WARM_APP)).toBeLessThanOrEqual(POOL_MAX)
      await Promise.all([warm.disconnect(), scoped.disconnect()])
      expect(await waitForConnectionCount(baseline.warm, WARM_APP)).toBe(baseline.warm)
      await expect.poll(() => gateway.openConnections).toBe(0)
    },
  )
})
