// Row 3 for the TCP drivers: round trips to the first row and per warm query, counted by a TCP proxy
// in front of the real server (lib/count-proxy.mjs, 20 ms one-way delay): opening a connection is
// one, and each client turn after the server spoke is another. lazydb inside handler() against the
// raw pool at module scope, each side in a fresh process (roundtrips.mjs's measure()).
import { startCountingProxy } from '../lib/count-proxy.mjs'
import { TCP_TARGETS, prepareServer, serverAddress, tcpUrl } from '../lib/tcp-drivers.mjs'
import { QUICK, hasBuiltDriver, round, row } from '../lib/util.mjs'
import { measure } from './roundtrips.mjs'

const DELAY_MS = 20
const GOAL = 'first: equal to raw; warm: 0 extra'

async function roundTripRow(target, warmCalls) {
  const id = `3-${target}`
  const name = `Round trips, first row and warm query: ${TCP_TARGETS[target].label}`
  const baseline = 'the raw pool at module scope, same proxy and delay'
  if (!hasBuiltDriver(TCP_TARGETS[target].subpath)) {
    return row({ id, name, baseline, target: GOAL, skipped: `dist/drivers/${target}/index.js is not built yet` })
  }
  try {
    await prepareServer(target)
  } catch (error) {
    return row({ id, name, baseline, target: GOAL, skipped: `server not reachable: ${error.message}` })
  }
  const proxy = await startCountingProxy({ target: serverAddress(target), delayMs: DELAY_MS })
  const gw = {
    env: { BENCH_URL: tcpUrl(target, { port: proxy.port, tag: `lazydb-bench-rt-${target}` }) },
    reset: () => proxy.reset(),
    counters: () => proxy.counters(),
  }
  try {
    const raw = await measure(target, 'raw', gw, warmCalls)
    const ours = await measure(target, 'lazydb', gw, warmCalls)
    const extraFirst = ours.firstRoundTrips - raw.firstRoundTrips
    const extraWarm = round(ours.warmRoundTrips - raw.warmRoundTrips, 2)
    return row({
      id,
      name,
      baseline,
      measured: {
        lazydbFirst: ours.firstRoundTrips,
        rawFirst: raw.firstRoundTrips,
        lazydbWarm: round(ours.warmRoundTrips, 2),
        rawWarm: round(raw.warmRoundTrips, 2),
        extraFirst,
        extraWarm,
        lazydbFirstMs: ours.firstMs,
        rawFirstMs: raw.firstMs,
        lazydbWarmMs: ours.warmMs,
        rawWarmMs: raw.warmMs,
      },
      ratio: ours.firstRoundTrips / raw.firstRoundTrips,
      target: GOAL,
      pass: extraFirst <= 0 && extraWarm <= 0,
      unit:
        `round trips counted by a TCP proxy in front of the server (${DELAY_MS} ms one-way delay; connect = 1, ` +
        'then 1 per client turn), each side in a fresh process; ratio = first-row round trips, lazydb / raw',
    })
  } finally {
    await proxy.close()
  }
}

export async function run() {
  const rows = []
  for (const target of Object.keys(TCP_TARGETS)) rows.push(await roundTripRow(target, QUICK ? 3 : 10))
  return rows
}
