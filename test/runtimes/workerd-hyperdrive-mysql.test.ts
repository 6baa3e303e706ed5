// Cloudflare Hyperdrive for MySQL in workerd (Miniflare's `hyperdrives` option takes a mysql:// origin
// and forwards the binding's `*.hyperdrive.local` host to the local MariaDB): a Worker on lazydb's mysql2
// driver, written as users write it (fixtures/hyperdrive-mysql-worker.ts), bundled as wrangler bundles
// it. 200 requests, sequential and concurrent: none fails or hangs, none meets the cross-request I/O
// error, each request's pool is ended after it, and the password shows nowhere.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureMariadbUser, requireMariadb, rootConnection, setupMariadb } from '../support/mariadb.js'
import { bundleDir } from './helpers.js'
import { runHyperdriveWorker, type WorkerPlan } from './hyperdrive-harness.js'
import { workerdNodeBuiltins } from './workerd-require.js'

const up = await requireMariadb()
const USER = `lz_hd_${process.pid}`.slice(0, 32)
const PASSWORD = `hd-${randomBytes(10).toString('hex')}`
const TABLE = `hd_my_${process.pid}`
const ORIGIN = `mysql://${USER}:${PASSWORD}@127.0.0.1:3306/lazydb_test`
const CROSS_REQUEST = /Cannot perform I\/O on behalf of a different request/
const dir = bundleDir('workerd-hyperdrive-mysql')
let workerPath: string

async function asRoot(sql: string): Promise<unknown> {
  const root = await rootConnection()
  try {
    return (await root.query(sql))[0]
  } finally {
    await root.end()
  }
}

describe.skipIf(!up)('Cloudflare Hyperdrive (MySQL) in workerd: the mysql2 driver on a Hyperdrive binding', () => {
  beforeAll(async () => {
    await setupMariadb()
    await ensureMariadbUser(USER, PASSWORD)
    await asRoot(`create table lazydb_test.${TABLE} (n int primary key)`)
    workerPath = await dir.build('cloudflare', 'hyperdrive-mysql/worker.mjs', {
      entry: 'test/runtimes/fixtures/hyperdrive-mysql-worker.ts',
      plugins: [workerdNodeBuiltins],
    })
  })
  afterAll(async () => {
    await asRoot(`drop table if exists lazydb_test.${TABLE}`).catch(() => undefined)
    dir.remove()
  })

  it('200 requests (100 sequential, 100 in bursts of 20) answer with rows; a pool per request, ended', async () => {
    let inserts = 0
    const path = (i: number, every: number) => (i % every === 0 ? `/insert?n=${inserts++}` : '/id')
    const steps: WorkerPlan['steps'] = [
      { paths: Array.from({ length: 100 }, (_, i) => path(i, 10)), concurrent: false },
    ]
    for (let burst = 0; burst < 5; burst++)
      steps.push({ paths: Array.from({ length: 20 }, (_, i) => path(i, 4)), concurrent: true })
    const report = await runHyperdriveWorker(
      workerPath,
      { steps, after: ['/stats'] },
      {
        modulesRoot: dir.dir,
        origin: ORIGIN,
        bindings: { TABLE },
      },
    )
    const failed = report.outcomes.filter((o) => o.status !== 200 || o.rows === undefined || o.rows.length === 0)
    console.log(
      '[workerd hyperdrive mysql]',
      JSON.stringify({
        requests: report.outcomes.length,
        failed: failed.length,
        proxyErrors: report.proxyErrors.length,
      }),
    )
    expect(report.outcomes).toHaveLength(200)
    expect(failed, JSON.stringify(failed[0])?.slice(0, 400)).toEqual([])
    for (const o of report.outcomes.filter((o) => o.path.startsWith('/insert')))
      expect(Number(o.rows![0]!.n)).toBe(Number(new URL(o.path, 'http://x').searchParams.get('n')))
    const counted = (await asRoot(`select count(*) as n from lazydb_test.${TABLE}`)) as { n: number }[]
    expect(Number(counted[0]!.n)).toBe(inserts)
    const stats = JSON.parse(report.after[0]!.body) as { databases: Record<string, Record<string, unknown>> }
    expect(stats.databases.default).toMatchObject({
      driver: 'mysql2',
      scope: 'request',
      connects: 200,
      closes: 200,
      errors: 0,
    })
    expect(report.output).not.toMatch(CROSS_REQUEST)
    for (const text of [report.output, ...report.outcomes.map((o) => o.body)]) expect(text).not.toContain(PASSWORD)
  }, 60_000)
})
