// Row 2: cold burst. `count` concurrent first invocations, each mode in a fresh process: lazydb, a
// module-scope client made on first use behind a single-flight promise (what a careful user writes;
// the ratio compares against it), the same getter without single-flight, and a client per invocation.
// Everything is measured, for every mode alike: driver clients by wrapping the driver packages'
// constructors (lib/count-clients.mjs), server connections by the gateways' counters, the peak of
// open ones, and pg_stat_activity for Postgres.
import { ROOT, pgMonitor, row, runNode, sleep } from '../lib/util.mjs'
import { TARGETS, available, startGateway } from '../lib/drivers.mjs'

const COUNT = Number(process.env.BENCH_COLD_COUNT ?? 200)
const COLD_TARGETS = process.env.BENCH_COLD_TARGETS?.split(',') ?? Object.keys(TARGETS)
const MODES = ['lazydb', 'module-scope', 'lazy-racy', 'per-invocation']
const COUNTER = `${ROOT}bench/lib/count-clients.mjs`

/** Samples the gateway's open server connections until stop(); resolves with the peak. */
function samplePeakOpen(gw) {
  let peak = 0
  let sampling = true
  const loop = (async () => {
    while (sampling) {
      if (gw.openServerConnections) peak = Math.max(peak, gw.openServerConnections())
      await sleep(2)
    }
    return gw.openServerConnections ? peak : undefined
  })()
  return { stop: () => ((sampling = false), loop) }
}

async function burst(target, mode, pg) {
  const tag = `lazydb-bench-cold-${target}-${mode}`
  const gw = await startGateway(target, { tag })
  const openPeak = samplePeakOpen(gw)
  const pgPeak = gw.applicationName ? pg.sample(gw.applicationName, 5) : undefined
  try {
    const res = await runNode(['--import', COUNTER, `${ROOT}bench/cold-child.mjs`, target, mode, String(COUNT)], {
      env: gw.env,
      timeoutMs: 60_000,
    })
    const peakOpenServerConnections = await openPeak.stop()
    const pgPeakConnections = pgPeak ? await pgPeak.stop() : undefined
    if (res.code !== 0) throw new Error(`cold burst ${target}/${mode} failed: ${res.stderr.slice(-600)}`)
    const out = JSON.parse(res.stdout.trim().split('\n').pop())
    return { ...out, gateway: gw.counters(), peakOpenServerConnections, pgPeakConnections }
  } finally {
    await openPeak.stop()
    await gw.close()
    if (gw.applicationName) await pg.drain(gw.applicationName)
  }
}

/**
 * Server connections a burst opened: the gateway's count of connections opened (Hrana streams, Neon
 * WebSocket connections) where it keeps one, else the pg_stat_activity peak, else the peak of open
 * MySQL connections in the PlanetScale gateway's pool. `counted` says whether it is a counter (exact)
 * or a sampled peak.
 */
function serverConnections(r) {
  if (r.gateway?.serverConnectionsOpened !== undefined) return { n: r.gateway.serverConnectionsOpened, counted: true }
  return { n: r.pgPeakConnections ?? r.peakOpenServerConnections ?? null, counted: false }
}

function summary(r) {
  return {
    driverClients: r.driverClientsCreated,
    serverConnections: serverConnections(r).n,
    errors: r.errors,
    ms: r.durationMs,
  }
}

function skippedRow(id, name, target) {
  return row({
    id,
    name,
    baseline: 'module-scope client (single-flight); per-invocation client',
    target: 'driver clients <= module-scope baseline, server connections opened (where counted) <= baseline, no errors',
    skipped: `dist/drivers/${TARGETS[target].subpath}/index.js is not built yet`,
  })
}

function coldRow(id, name, bursts) {
  const lazy = bursts.lazydb
  const base = bursts['module-scope']
  const lazyConns = serverConnections(lazy)
  const baseConns = serverConnections(base)
  // A counter is exact, so lazydb must not open more than the baseline; a sampled peak only informs.
  const connsOk = !lazyConns.counted || !baseConns.counted || lazyConns.n <= baseConns.n
  return row({
    id,
    name,
    baseline:
      'module-scope client made on first use behind a single-flight promise (the ratio); also without ' +
      'single-flight, and a client per invocation',
    measured: Object.fromEntries(MODES.map((m) => [m, summary(bursts[m])])),
    ratio: lazy.driverClientsCreated / base.driverClientsCreated,
    target: 'driver clients <= module-scope baseline, server connections opened (where counted) <= baseline, no errors',
    pass: lazy.driverClientsCreated <= base.driverClientsCreated && connsOk && lazy.errors === 0,
    unit: 'ratio = driver clients created, lazydb / module-scope baseline (both counted at the driver constructors)',
    notes:
      `server connections: ${lazyConns.counted ? 'opened, counted by the gateway' : 'sampled peak'} ` +
      '(Hrana streams and Neon WebSocket connections are counted; Postgres behind the Neon HTTP gateway ' +
      "is the gateway's own pool, peak in pg_stat_activity; PlanetScale is the gateway's MySQL pool peak)",
    diagnostics: bursts,
  })
}

export async function run() {
  const rows = []
  const pg = await pgMonitor()
  try {
    for (const target of COLD_TARGETS) {
      const id = `2-${target}`
      const name = `Cold burst, ${COUNT} concurrent first invocations: ${TARGETS[target].label}`
      if (!available(target)) {
        rows.push(skippedRow(id, name, target))
        continue
      }
      const bursts = {}
      for (const mode of MODES) bursts[mode] = await burst(target, mode, pg)
      rows.push(coldRow(id, name, bursts))
    }
  } finally {
    await pg.close()
  }
  return rows
}
