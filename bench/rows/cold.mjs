// Row 2: cold burst. `count` concurrent first invocations, in a fresh process per driver and mode:
// driver clients created (registry.stats(); target exactly 1) and server connections opened
// (gateway counters, peak open server connections, and pg_stat_activity for Postgres), against a
// naive connect-per-invocation baseline.
import { ROOT, pgMonitor, row, runNode, sleep } from '../lib/util.mjs'
import { TARGETS, available, startGateway } from '../lib/drivers.mjs'

const COUNT = 200

async function burst(target, mode, pg) {
  const tag = `lazydb-bench-cold-${target}-${mode}`
  const gw = await startGateway(target, { tag })
  let peakOpen = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      if (gw.openServerConnections) peakOpen = Math.max(peakOpen, gw.openServerConnections())
      await sleep(2)
    }
  })()
  const pgPeak = gw.applicationName ? pg.sample(gw.applicationName, 5) : undefined
  try {
    const res = await runNode([`${ROOT}bench/cold-child.mjs`, target, mode, String(COUNT)], {
      env: gw.env,
      timeoutMs: 60_000,
    })
    sampling = false
    await sampler
    const pgPeakConnections = pgPeak ? await pgPeak.stop() : undefined
    if (res.code !== 0) return { error: res.stderr.slice(-600) }
    const out = JSON.parse(res.stdout.trim().split('\n').pop())
    const counters = gw.counters()
    return {
      ...out,
      gateway: counters,
      peakOpenServerConnections: gw.openServerConnections ? peakOpen : undefined,
      pgPeakConnections,
    }
  } finally {
    sampling = false
    await gw.close()
    if (gw.applicationName) await pg.drain(gw.applicationName)
  }
}

export async function run() {
  const rows = []
  const pg = await pgMonitor()
  try {
    for (const target of Object.keys(TARGETS)) {
      const id = `2-${target}`
      const name = `Cold burst, ${COUNT} concurrent first invocations: ${TARGETS[target].label}`
      if (!available(target)) {
        rows.push(
          row({
            id,
            name,
            baseline: 'naive connect-per-invocation',
            target: 'driver clients created = 1',
            skipped: `dist/drivers/${TARGETS[target].subpath}/index.js is not built yet`,
          }),
        )
        continue
      }
      const lazy = await burst(target, 'lazydb', pg)
      const naive = await burst(target, 'naive', pg)
      const server = (r) =>
        r.gateway?.serverConnectionsOpened ?? r.pgPeakConnections ?? r.peakOpenServerConnections ?? null
      rows.push(
        row({
          id,
          name,
          baseline: 'naive: a new driver client per invocation (create, query, close)',
          measured: {
            lazydbDriverClients: lazy.driverClientsCreated,
            naiveDriverClients: naive.driverClientsCreated,
            lazydbServerConnections: server(lazy),
            naiveServerConnections: server(naive),
            lazydbErrors: lazy.errors,
            naiveErrors: naive.errors,
            lazydbMs: lazy.durationMs,
            naiveMs: naive.durationMs,
          },
          ratio: lazy.driverClientsCreated / naive.driverClientsCreated,
          target: 'driver clients created = 1, no errors',
          pass: lazy.driverClientsCreated === 1 && lazy.errors === 0,
          unit: 'ratio = driver clients, lazydb / naive',
          notes:
            'server connections: gateway-opened (Hrana streams, Neon WS connections) or pg_stat_activity peak, ' +
            'or gateway MySQL pool peak',
          diagnostics: { lazydb: lazy, naive },
        }),
      )
    }
  } finally {
    await pg.close()
  }
  return rows
}
