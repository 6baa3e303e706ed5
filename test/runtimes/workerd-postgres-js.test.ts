// postgres.js in workerd (Miniflare) through a Hyperdrive binding, to the real local PostgreSQL. A socket may
// not outlive its request in workerd (porsager/postgres#884, #865: a module-scope `sql` reused by the next
// request fails), so lazydb gives the pool request scope there, at most 5 connections, ended with the request.
// The Worker runs in workerd from a child process (hyperdrive-harness.ts: Miniflare's Hyperdrive proxy
// throws uncaught socket errors of its own).
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgAdmin, requirePostgres } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import { runHyperdriveWorker } from './hyperdrive-harness.js'

const pgUp = await requirePostgres()
const root = fileURLToPath(new URL('../..', import.meta.url))
const CROSS_REQUEST = /Cannot perform I\/O on behalf of a different request/
const APP = `lazydb-pgjs-workerd-${process.pid}`
// Hyperdrive wants a password in its URL: a role of this suite's own (trust auth never checks it).
const ROLE = `lazydb_pgjs_hd_${process.pid}`
const NODE_BUILTINS = ['util', 'stream', 'crypto', 'fs', 'os', 'net', 'tls', 'events', 'buffer', 'diagnostics_channel']
const dir = tempDir('lazydb-workerd-pgjs-')
let scriptPath: string

beforeAll(async () => {
  if (!pgUp) return
  await pgAdmin(`drop role if exists ${ROLE}; create role ${ROLE} login password 'hd-pw'`)
  scriptPath = dir.file('worker.mjs')
  const src = (path: string) => `${root}src/${path}`
  // As wrangler bundles: the Workers conditions, node:* and cloudflare:* left to the runtime.
  await build({
    entryPoints: [`${root}test/runtimes/fixtures/postgres-js-worker.ts`],
    outfile: scriptPath,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['node:*', 'cloudflare:*'],
    alias: {
      // postgres.js imports Node built-ins by bare name; wrangler maps them to node:* under nodejs_compat.
      ...Object.fromEntries(NODE_BUILTINS.map((name) => [name, `node:${name}`])),
      '@lazydb/core': src('index.ts'),
      '@lazydb/core/postgres': src('drivers/postgres/index.ts'),
      '@lazydb/core/cloudflare': src('platforms/cloudflare.ts'),
    },
    logLevel: 'error',
  })
})
afterAll(async () => {
  if (pgUp) await pgAdmin(`drop role if exists ${ROLE}`).catch(() => undefined)
  dir.remove()
})

const ORIGIN = `postgres://${ROLE}:hd-pw@127.0.0.1:5432/test`
const run = (plan: Parameters<typeof runHyperdriveWorker>[1], bindings: Record<string, string>, count = false) =>
  runHyperdriveWorker(scriptPath, plan, {
    modulesRoot: dir.dir,
    origin: ORIGIN,
    bindings: { APP, ...bindings },
    count: count ? { role: ROLE, baseline: 0 } : undefined,
  })

describe.skipIf(!pgUp)('Cloudflare Workers (workerd): postgres.js through Hyperdrive', () => {
  it('opens a pool per request (max 5), ended after it; 20 requests, 10 of them concurrent, all succeed', async () => {
    const paths = (from: number) => Array.from({ length: 10 }, (_, i) => `/?n=${from + i}`)
    const report = await run(
      {
        steps: [
          { paths: paths(0), concurrent: false },
          { paths: paths(10), concurrent: true },
        ],
        after: ['/stats'],
      },
      {},
      true,
    )
    const outcomes = report.outcomes
    expect(
      outcomes.filter((o) => o.status !== 200),
      outcomes.find((o) => o.status !== 200)?.body,
    ).toEqual([])
    expect(JSON.parse(outcomes[3]!.body)).toEqual({ rows: [{ n: 3 }], max: 5, app: APP })
    expect(report.output).not.toMatch(CROSS_REQUEST)
    expect(report.connections).toBe(0) // each request's pool ended after it, the Worker still running
    const stats = JSON.parse(report.after[0]!.body) as { platform: string; databases: Record<string, unknown> }
    expect(stats.platform).toBe('cloudflare')
    expect(stats.databases.default).toMatchObject({
      driver: 'postgres',
      scope: 'request',
      connects: 20,
      closes: 20,
      errors: 0,
    })
  })

  it('CONTROL: kept warm across requests, the pool fails the next request', async () => {
    const report = await run({ steps: [{ paths: ['/?n=100', '/?n=101'], concurrent: false }] }, { SCOPE: 'warm' })
    const [first, second] = report.outcomes
    expect(first!.status).toBe(200)
    expect(second!.status).not.toBe(200)
    // postgres.js v4's Workers build sees the socket of another request as closed (CONNECTION_CLOSED);
    // workerd itself may say so (cross-request I/O), or cancel the request as hung.
    expect(`${second!.status} ${second!.body}\n${report.output}`).toMatch(
      /CONNECTION_CLOSED|different request|timeout|hung/,
    )
  })
})
