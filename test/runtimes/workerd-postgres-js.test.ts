// postgres.js in workerd (Miniflare) through a Hyperdrive binding, to the real local PostgreSQL. A socket may
// not outlive its request in workerd (porsager/postgres#884, #865: a module-scope `sql` reused by the next
// request fails), so lazydb gives the pool request scope there, at most 5 connections, ended with the request.
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { readFileSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgAdmin, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import { withTimeout } from './helpers.js'

const pgUp = await requirePostgres()
const root = fileURLToPath(new URL('../..', import.meta.url))
const COMPATIBILITY_DATE = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(
  readFileSync(`${root}wrangler.toml`, 'utf8'),
)![1]!
const CROSS_REQUEST = /Cannot perform I\/O on behalf of a different request/
const APP = `lazydb-pgjs-workerd-${process.pid}`
// Hyperdrive wants a password in its URL: a role of this suite's own (trust auth never checks it).
const ROLE = `lazydb_pgjs_hd_${process.pid}`
const NODE_BUILTINS = ['util', 'stream', 'crypto', 'fs', 'os', 'net', 'tls', 'events', 'buffer', 'diagnostics_channel']
const dir = tempDir('lazydb-workerd-pgjs-')
const instances: Miniflare[] = []
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
  await Promise.allSettled(instances.map((mf) => mf.dispose()))
  if (pgUp) await pgAdmin(`drop role if exists ${ROLE}`).catch(() => undefined)
  dir.remove()
})

function start(bindings: Record<string, string> = {}) {
  const output: string[] = []
  const collect = (stream: Readable) => stream.on('data', (chunk: Buffer) => output.push(chunk.toString()))
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: scriptPath }],
    modulesRoot: dir.dir,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ['nodejs_compat'],
    cf: false,
    bindings: { APP, ...bindings },
    hyperdrives: { HYPERDRIVE: `postgres://${ROLE}:hd-pw@127.0.0.1:5432/test` },
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => (collect(stdout), collect(stderr)),
  })
  instances.push(mf)
  const hit = async (n: number) => {
    const res = await mf.dispatchFetch(`http://worker.test/?n=${n}`)
    return { status: res.status, body: await res.text() }
  }
  return { mf, output, hit }
}

describe.skipIf(!pgUp)('Cloudflare Workers (workerd): postgres.js through Hyperdrive', () => {
  it('opens a pool per request (max 5), ended after it; 20 requests, 10 of them concurrent, all succeed', async () => {
    const { mf, output, hit } = start()
    const outcomes = []
    for (let i = 0; i < 10; i++) outcomes.push(await withTimeout(hit(i), 10_000, { status: 0, body: 'timed out' }))
    outcomes.push(
      ...(await Promise.all(
        Array.from({ length: 10 }, (_, i) => withTimeout(hit(10 + i), 10_000, { status: 0, body: 'timed out' })),
      )),
    )
    expect(
      outcomes.filter((o) => o.status !== 200),
      outcomes.find((o) => o.status !== 200)?.body,
    ).toEqual([])
    expect(JSON.parse(outcomes[3]!.body)).toEqual({ rows: [{ n: 3 }], max: 5, app: APP })
    expect(output.join('')).not.toMatch(CROSS_REQUEST)
    expect(await waitForConnectionCount(0, APP, 5000)).toBe(0)
    const stats = (await (await mf.dispatchFetch('http://worker.test/stats')).json()) as {
      platform: string
      databases: Record<string, unknown>
    }
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
    const { hit, output } = start({ SCOPE: 'warm' })
    expect((await hit(100)).status).toBe(200)
    const second = await withTimeout(hit(101), 10_000, { status: 0, body: 'timed out' })
    expect(second.status).not.toBe(200)
    // postgres.js v4's Workers build sees the socket of another request as closed (CONNECTION_CLOSED);
    // workerd itself may say so (cross-request I/O), or cancel the request as hung.
    expect(`${second.body}\n${output.join('')}`).toMatch(/CONNECTION_CLOSED|different request|timed out|hung/)
  })
})
