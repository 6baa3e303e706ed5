// The Netlify example (functions/netlify/notes.ts), bundled as for Netlify (node, `netlify`
// condition), invoked DIRECTLY with a v2-like `(Request, Context)`, so that one module instance
// serves many calls (netlify-dev.test.ts runs it in Netlify's emulator, which reloads it for every
// request). The Context carries `waitUntil`, as Netlify's does; `globalThis.Netlify` is installed as
// the v2 runtime does, so detection can see Netlify. libSQL over HTTP through the Hrana gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Registry } from '@lazydb/core'
import { startHranaGateway, type HranaGateway } from '../support/hrana-gateway.js'
import { bundleDir, importBundle } from './helpers.js'

interface NetlifyModule {
  default: (request: Request, context: { waitUntil?: (p: Promise<unknown>) => void }) => Promise<Response>
  config: { path: string[] }
  registryFor(env?: Record<string, string | undefined>): Registry
}

const dir = bundleDir('netlify')
let gateway: HranaGateway
let fn: NetlifyModule

beforeAll(async () => {
  gateway = await startHranaGateway({ file: dir.file('notes.db') })
  ;(globalThis as Record<string, unknown>).Netlify = {
    env: { get: (name: string) => process.env[name] },
    context: null,
  }
  fn = await importBundle<NetlifyModule>(await dir.build('netlify', 'netlify/notes.mjs'))
})
afterAll(async () => {
  await gateway?.close()
  dir.remove()
})

/** A v2 Context whose waitUntil keeps what it is given, like the platform's. */
function context() {
  const pending: Promise<unknown>[] = []
  return { pending, waitUntil: (p: Promise<unknown>) => void pending.push(p) }
}

describe('Netlify Functions v2 (direct invocation)', () => {
  it('serves the notes app, with config.path routes, and detects Netlify', async () => {
    process.env.DATABASE_URL = gateway.url
    delete process.env.LAZYDB_SCOPE
    expect(fn.config.path).toEqual(['/notes', '/stats'])
    const post = await fn.default(
      new Request('https://site.netlify.app/notes', { method: 'POST', body: JSON.stringify({ body: 'from netlify' }) }),
      context(),
    )
    expect(post.status).toBe(201)
    const list = await fn.default(new Request('https://site.netlify.app/notes'), context())
    expect(await list.json()).toEqual([expect.objectContaining({ body: 'from netlify' })])
    const stats = fn.registryFor().stats()
    expect(stats.platform).toBe('netlify')
    // libSQL over HTTP holds no socket: warm, one client for every invocation.
    expect(stats.databases.default).toMatchObject({ driver: 'libsql', scope: 'warm', connects: 1, closes: 0 })
  })

  it('closes request-scoped clients through context.waitUntil, after the response', async () => {
    process.env.DATABASE_URL = gateway.url
    process.env.LAZYDB_SCOPE = 'request'
    const registry = fn.registryFor()
    expect(registry.stats().databases.default!.scope).toBe('request')
    const contexts = Array.from({ length: 10 }, context)
    const responses = await Promise.all(
      contexts.map((ctx) => fn.default(new Request('https://site.netlify.app/notes'), ctx)),
    )
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200))
    // Each invocation handed its cleanup to its own waitUntil instead of making the response wait.
    expect(contexts.map((c) => c.pending.length)).toEqual(Array(10).fill(1))
    await Promise.all(contexts.flatMap((c) => c.pending))
    expect(registry.stats().databases.default).toMatchObject({ connects: 10, closes: 10, errors: 0 })
  })

  it('without waitUntil, the cleanup finishes before the function returns', async () => {
    process.env.DATABASE_URL = gateway.url
    process.env.LAZYDB_SCOPE = 'request'
    const registry = fn.registryFor()
    const before = registry.stats().databases.default!
    const response = await fn.default(new Request('https://site.netlify.app/notes'), {})
    expect(response.status).toBe(200)
    const after = registry.stats().databases.default!
    expect(after.connects - before.connects).toBe(1)
    expect(after.closes - before.closes).toBe(1)
  })
})
