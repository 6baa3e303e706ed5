// Row 2 for the TCP drivers: 200 concurrent first invocations in a fresh process (cold-child.mjs),
// lazydb against the module-scope pool a careful user writes (made on first use behind a single-flight
// promise). Measured alike for both: pools made (the driver's constructors, counted by
// lib/count-clients.mjs), connections opened and most open at once (exact, at a TCP proxy in front of the
// server), and the server's own count of the bench user's connections (pg_stat_activity /
// information_schema.processlist, polled through the burst). lazydb must make one pool (stats().
// databases.default.connects === 1) and stay within its max. No getter-without-single-flight or
// connection-per-invocation baseline here: 200 connections at once would exhaust the shared servers'
// max_connections (100 on PostgreSQL) and break whatever else is using them.
import { startCountingProxy } from '../lib/count-proxy.mjs'
import { POOL_MAX, TCP_TARGETS, prepareServer, serverAddress, serverConnections, tcpUrl } from '../lib/tcp-drivers.mjs'
import { ROOT, hasBuiltDriver, row, runNode } from '../lib/util.mjs'

const COUNT = Number(process.env.BENCH_COLD_COUNT ?? 200)
const MODES = ['lazydb', 'module-scope']
const COUNTER = `${ROOT}bench/lib/count-clients.mjs`
const GOAL = `1 pool (connects = 1), connections opened and open <= pool max (${POOL_MAX}), no errors`

async function burst(target, mode, monitor) {
  await monitor.drain()
  const proxy = await startCountingProxy({ target: serverAddress(target) })
  const sampler = monitor.sample(5)
  try {
    const env = { BENCH_URL: tcpUrl(target, { port: proxy.port, tag: `lazydb-bench-cold-${target}-${mode}` }) }
    const res = await runNode(['--import', COUNTER, `${ROOT}bench/cold-child.mjs`, target, mode, String(COUNT)], {
      env,
      timeoutMs: 60_000,
    })
    const server = await sampler.stop()
    if (res.code !== 0) throw new Error(`cold burst ${target}/${mode} failed: ${res.stderr.slice(-600)}`)
    const out = JSON.parse(res.stdout.trim().split('\n').pop())
    const { connectionsOpened, peakOpen } = proxy.counters()
    return { ...out, connectionsOpened, peakOpen, serverPeak: server.peak, serverSamples: server.samples }
  } finally {
    await sampler.stop()
    await proxy.close()
  }
}

const summary = (r) => ({
  pools: r.driverClientsCreated,
  registryConnects: r.registryConnects ?? null,
  connectionsOpened: r.connectionsOpened,
  peakOpen: r.peakOpen,
  serverPeak: r.serverPeak,
  errors: r.errors,
  ms: r.durationMs,
})

function coldRow(id, name, bursts) {
  const lazy = bursts.lazydb
  const base = bursts['module-scope']
  const withinMax = (r) => r.connectionsOpened <= POOL_MAX && r.peakOpen <= POOL_MAX && r.serverPeak <= POOL_MAX
  return row({
    id,
    name,
    baseline: 'a module-scope pool made on first use behind a single-flight promise (ready ??= makePool())',
    measured: { poolMax: POOL_MAX, lazydb: summary(lazy), 'module-scope': summary(base) },
    ratio: lazy.driverClientsCreated / base.driverClientsCreated,
    target: GOAL,
    pass:
      lazy.registryConnects === 1 &&
      lazy.driverClientsCreated <= base.driverClientsCreated &&
      withinMax(lazy) &&
      lazy.errors === 0,
    unit: 'ratio = pools created, lazydb / module-scope baseline (both counted at the driver constructors)',
    notes:
      `connections: opened and most open at once counted exactly by a TCP proxy; server peak polled every ~5 ms ` +
      `from the server's connection list for the bench-only user; baseline within max: ${withinMax(base)}`,
    diagnostics: bursts,
  })
}

async function tcpColdRow(target) {
  const id = `2-${target}`
  const name = `Cold burst, ${COUNT} concurrent first invocations: ${TCP_TARGETS[target].label}`
  const baseline = 'module-scope pool (single-flight)'
  if (!hasBuiltDriver(TCP_TARGETS[target].subpath)) {
    return row({ id, name, baseline, target: GOAL, skipped: `dist/drivers/${target}/index.js is not built yet` })
  }
  let monitor
  try {
    await prepareServer(target)
    monitor = await serverConnections(target)
  } catch (error) {
    return row({ id, name, baseline, target: GOAL, skipped: `server not reachable: ${error.message}` })
  }
  try {
    const bursts = {}
    for (const mode of MODES) bursts[mode] = await burst(target, mode, monitor)
    return coldRow(id, name, bursts)
  } finally {
    await monitor.drain()
    await monitor.close()
  }
}

export async function run() {
  const rows = []
  for (const target of Object.keys(TCP_TARGETS)) rows.push(await tcpColdRow(target))
  return rows
}
