// libSQL over WebSocket in workerd (Miniflare): the @libsql/client web build on workerd's
// WebSocket, through lazydb's Cloudflare handler, against the in-process Hrana gateway. A socket
// may not outlive its request in workerd, so lazydb opens one per request and closes it after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Miniflare } from 'miniflare'
import { createClient } from '@libsql/client'
import { startHranaGateway, type HranaGateway } from '../support/hrana-gateway.js'
import { bundleDir } from './helpers.js'
import { startWorker } from './miniflare.js'

const TOKEN = 'tok-workerd-321'
const CROSS_REQUEST = /Cannot perform I\/O on behalf of a different request/
const dir = bundleDir('workerd-libsql')
let gateway: HranaGateway
let scriptPath: string
const instances: Miniflare[] = []

beforeAll(async () => {
  gateway = await startHranaGateway({ file: dir.file('workerd.db'), authToken: TOKEN })
  const setup = createClient({ url: gateway.url, authToken: TOKEN })
  await setup.execute('create table hits (n integer)')
  setup.close()
  scriptPath = await dir.build('cloudflare', 'worker.mjs', { entry: 'test/runtimes/fixtures/libsql-ws-worker.ts' })
})
afterAll(async () => {
  await Promise.allSettled(instances.map((mf) => mf.dispose()))
  await gateway?.close()
  dir.remove()
})

function start(bindings: Record<string, string> = {}) {
  const { mf, output } = startWorker(scriptPath, dir.dir, {
    LIBSQL_URL: gateway.ws.url,
    LIBSQL_TOKEN: TOKEN,
    ...bindings,
  })
  instances.push(mf)
  const hit = async (n: number) => {
    const res = await mf.dispatchFetch(`http://worker.test/?n=${n}`)
    return { status: res.status, body: await res.text() }
  }
  return { mf, output, hit }
}

describe('Cloudflare Workers (workerd): libSQL over ws://', () => {
  it('opens a WebSocket per request and closes it after; 40 requests, 20 of them concurrent, all succeed', async () => {
    const { mf, output, hit } = start()
    gateway.ws.resetCounters()
    const outcomes = []
    for (let i = 0; i < 20; i++) outcomes.push(await hit(i))
    outcomes.push(...(await Promise.all(Array.from({ length: 20 }, (_, i) => hit(20 + i)))))
    expect(
      outcomes.filter((o) => o.status !== 200),
      outcomes.find((o) => o.status !== 200)?.body,
    ).toEqual([])
    expect(JSON.parse(outcomes[19]!.body)).toEqual([{ hits: 20 }])
    expect(output.join('')).not.toMatch(CROSS_REQUEST)

    await expect.poll(() => gateway.ws.openConnections(), { timeout: 5000 }).toBe(0)
    expect(gateway.ws.connectionsOpened).toBe(40)
    const stats = (await (await mf.dispatchFetch('http://worker.test/stats')).json()) as {
      platform: string
      databases: Record<string, unknown>
    }
    expect(stats.platform).toBe('cloudflare')
    expect(stats.databases.default).toMatchObject({
      driver: 'libsql',
      scope: 'request',
      connects: 40,
      closes: 40,
      errors: 0,
    })
  })

  it('CONTROL: kept warm across requests, the socket fails the next request', async () => {
    const { hit } = start({ LIBSQL_SCOPE: 'warm' })
    expect((await hit(100)).status).toBe(200)
    const second = await hit(101)
    expect(second.status).toBe(500)
    expect(second.body).toMatch(CROSS_REQUEST)
  })
})
