// Cloudflare Hyperdrive for real in workerd (Miniflare's `hyperdrives` option, which forwards the
// binding's `*.hyperdrive.local` host to the local PostgreSQL): a Worker written as users write it
// (fixtures/hyperdrive-worker.ts: `import '@lazydb/core/pg'`, Registry.fromEnv(env) on env.HYPERDRIVE,
// withRegistry), bundled with esbuild as wrangler bundles it. 1,000 requests, sequential and concurrent,
// none fails or hangs, none meets workerd's cross-request I/O error, and the role's server connections
// go back to none after. A hand-written Worker with a module-scope pg Pool fails the same requests.
// Each Worker runs in workerd from a child process (fixtures/hyperdrive-child.mjs): Miniflare's own
// Hyperdrive proxy throws uncaught socket errors (ECONNRESET, EPIPE: cloudflare/workers-sdk#15768),
// which in this process would fail the file whatever the Worker did.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_HOST, PG_PORT, PG_URL, pgAdmin, requirePostgres } from '../support/postgres.js'
import { bundleDir } from './helpers.js'
import { runHyperdriveWorker, type WorkerOutcome, type WorkerPlan, type WorkerReport } from './hyperdrive-harness.js'
import { workerdNodeBuiltins } from './workerd-require.js'

const pgUp = await requirePostgres()

const ROLE = `lazydb_hd_${process.pid}`
const TABLE = `hd_inserts_${process.pid}`
const PASSWORD = `hd-${randomBytes(12).toString('hex')}`
const ORIGIN = `postgres://${ROLE}:${PASSWORD}@${PG_HOST}:${PG_PORT}/test`
const CROSS_REQUEST = /Cannot perform I\/O on behalf of a different request/
const HUNG = /hung and would never generate a response/

type Outcome = WorkerOutcome
type Plan = WorkerPlan

const dir = bundleDir('workerd-hyperdrive')
let workerPath: string
let controlPath: string

/** The role's server connections (the test's own admin connection is another user's). */
async function roleConnections(): Promise<number> {
  const admin = new pg.Client(PG_URL)
  await admin.connect()
  try {
    const { rows } = await admin.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where usename = $1',
      [ROLE],
    )
    return rows[0]!.n
  } finally {
    await admin.end()
  }
}

function runWorker(scriptPath: string, plan: Plan, origin = ORIGIN, baseline?: number): Promise<WorkerReport> {
  return runHyperdriveWorker(scriptPath, plan, {
    modulesRoot: dir.dir,
    origin,
    bindings: { TABLE },
    count: baseline === undefined ? undefined : { role: ROLE, baseline },
  })
}

const succeeded = (o: Outcome) => o.status === 200 && o.rows !== undefined && o.rows.length > 0

describe.skipIf(!pgUp)('Cloudflare Hyperdrive in workerd (Miniflare): the pg driver on a Hyperdrive binding', () => {
  beforeAll(async () => {
    await pgAdmin(`create role ${ROLE} login password '${PASSWORD}'`)
    await pgAdmin(`create table ${TABLE} (n int primary key)`)
    await pgAdmin(`grant select, insert on ${TABLE} to ${ROLE}`)
    const build = (entry: string, out: string) =>
      dir.build('cloudflare', out, { entry, plugins: [workerdNodeBuiltins] })
    ;[workerPath, controlPath] = await Promise.all([
      build('test/runtimes/fixtures/hyperdrive-worker.ts', 'hyperdrive/worker.mjs'),
      build('test/runtimes/fixtures/hyperdrive-module-pool-worker.ts', 'control/worker.mjs'),
    ])
  })

  afterAll(async () => {
    await pgAdmin(`drop table if exists ${TABLE}`).catch(() => {})
    await pgAdmin(`drop role if exists ${ROLE}`).catch(() => {})
    dir.remove()
  })

  const THOUSAND =
    '1,000 requests (500 sequential, 500 in bursts of 20) all answer 200 with rows; ' +
    'no cross-request I/O, no hang; connections back to baseline after'
  it(THOUSAND, { timeout: 60_000 }, async () => {
    const baseline = await roleConnections()
    let inserts = 0
    // Every 10th sequential and every 4th concurrent request inserts in a transaction; the rest select.
    const path = (i: number, every: number) => (i % every === 0 ? `/insert?n=${inserts++}` : '/pid')
    const steps: Plan['steps'] = [{ paths: Array.from({ length: 500 }, (_, i) => path(i, 10)), concurrent: false }]
    for (let burst = 0; burst < 25; burst++)
      steps.push({ paths: Array.from({ length: 20 }, (_, i) => path(i, 4)), concurrent: true })
    const report = await runWorker(workerPath, { steps, after: ['/stats'] }, ORIGIN, baseline)
    const outcomes = report.outcomes
    const failed = outcomes.filter((o) => !succeeded(o))
    const summary = {
      requests: outcomes.length,
      ok: outcomes.length - failed.length,
      timeouts: failed.filter((o) => o.status === 'timeout').length,
      crossRequest: outcomes.filter((o) => CROSS_REQUEST.test(o.body)).length,
    }
    console.log(
      '[workerd hyperdrive]',
      JSON.stringify(summary),
      `inserts: ${inserts}; Miniflare proxy errors: ${report.proxyErrors.length}`,
    )
    expect(summary, `first failure: ${JSON.stringify(failed[0])?.slice(0, 400)}`).toEqual({
      requests: 1000,
      ok: 1000,
      timeouts: 0,
      crossRequest: 0,
    })
    // Each insert answered with its own row, committed once.
    for (const o of outcomes.filter((o) => o.path.startsWith('/insert'))) {
      expect(o.rows![0]!.n).toBe(Number(new URL(o.path, 'http://x').searchParams.get('n')))
    }
    const admin = new pg.Client(PG_URL)
    await admin.connect()
    const counted = await admin.query(`select count(*)::int as n from ${TABLE}`).finally(() => admin.end())
    expect(counted.rows[0].n).toBe(inserts)

    // A client per request, ended after its response through ctx.waitUntil: back to the baseline while
    // the Worker still runs.
    expect(report.connections).toBe(baseline)
    const stats = JSON.parse(report.after[0]!.body) as {
      platform: string
      databases: Record<string, Record<string, unknown>>
    }
    expect(stats.platform).toBe('cloudflare')
    expect(stats.databases.default).toMatchObject({
      driver: 'pg',
      scope: 'request',
      connects: 1000,
      closes: 1000,
      errors: 0,
    })
    expect(report.output).not.toMatch(CROSS_REQUEST)
    expect(report.output).not.toMatch(HUNG)
    for (const text of [report.output, ...outcomes.map((o) => o.body)]) expect(text).not.toContain(PASSWORD)
  })

  it('util.inspect of the registry, database, stats and a query error in the Worker shows no password', async () => {
    const report = await runWorker(workerPath, { steps: [{ paths: ['/inspect'], concurrent: false }] })
    const res = report.outcomes[0]!
    expect(res.status).toBe(200)
    const shown = JSON.parse(res.body) as Record<string, string | number>
    // The binding the Worker got does carry the password: the inspected objects were built from it.
    expect(shown.bindingHost).toMatch(/\.hyperdrive\.local$/)
    expect(shown.bindingPasswordLength).toBe(PASSWORD.length)
    // The URL is shown (the url getter is evaluated), its password masked.
    expect(shown.registry).toMatch(new RegExp(`postgres://${ROLE}:\\*\\*\\*@[0-9a-f]+\\.hyperdrive\\.local`))
    expect(shown.database).toMatch(/:\*\*\*@[0-9a-f]+\.hyperdrive\.local/)
    expect(shown.error).toMatch(/no_such_table_here/)
    expect(res.body).not.toContain(PASSWORD)
    expect(report.output).not.toContain(PASSWORD)
  })

  it('a binding whose origin refuses the login: a 500 naming the cause, no password in it or the logs', async () => {
    // A role that does not exist: PostgreSQL refuses the startup.
    const secret = `hd-bad-${randomBytes(8).toString('hex')}`
    const origin = `postgres://no_such_role_${process.pid}:${secret}@${PG_HOST}:${PG_PORT}/test`
    const report = await runWorker(workerPath, { steps: [{ paths: ['/pid'], concurrent: false }] }, origin)
    const res = report.outcomes[0]!
    expect(res.status).toBe(500)
    expect(res.body).toMatch(/LazyDbError: database "default" \(pg\): could not connect: role "no_such_role_\d+"/)
    expect(res.body).not.toContain(secret)
    expect(report.output).not.toContain(secret)
  })

  it('CONTROL: a hand-written Worker with a module-scope pg Pool on the binding fails such requests', async () => {
    const steps: Plan['steps'] = [{ paths: Array.from({ length: 20 }, () => '/'), concurrent: false }]
    for (let burst = 0; burst < 3; burst++)
      steps.push({ paths: Array.from({ length: 20 }, () => '/'), concurrent: true })
    const report = await runWorker(controlPath, { steps, maxTimeouts: 3 })
    const failed = report.outcomes.filter((o) => o.status !== 200)
    console.log(
      '[workerd hyperdrive control]',
      JSON.stringify({
        requests: report.outcomes.length,
        failed: failed.length,
        timeouts: failed.filter((o) => o.status === 'timeout').length,
        hung: failed.filter((o) => HUNG.test(o.body)).length,
        crossRequestInOutput: report.output.match(new RegExp(CROSS_REQUEST.source, 'g'))?.length ?? 0,
        proxyErrors: report.proxyErrors.length,
      }),
    )
    expect(failed.length).toBeGreaterThanOrEqual(1)
    // How it fails: workerd cancels the request waiting on another request's socket as hung, reports
    // the cross-request I/O, or the request hangs past the deadline.
    for (const o of failed) expect(o.status === 'timeout' || HUNG.test(o.body) || CROSS_REQUEST.test(o.body)).toBe(true)
    await expect.poll(roleConnections, { timeout: 5000, interval: 50 }).toBe(0)
  })
})
