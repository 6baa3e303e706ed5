// Row 3: round trips to the first row and per warm query, counted at the gateways (20 ms one-way
// delay), lazydb inside handler() vs the raw driver client a user keeps at module scope. Each side
// runs in a fresh process (so the first query is a true first), driven step by step over IPC while
// this process reads the gateway's counters between steps.
import { fork } from 'node:child_process'
import { QUICK, ROOT, round, row } from '../lib/util.mjs'
import { TARGETS, available, startGateway } from '../lib/drivers.mjs'

const DELAY_MS = 20

/**
 * Runs one side in a fresh process against `gw` (`{ env, reset(), counters() }` with `roundTrips`):
 * round trips and time to the first row, then per warm query.
 */
export function measure(target, mode, gw, warmCalls) {
  return new Promise((resolve, reject) => {
    const child = fork(`${ROOT}bench/roundtrip-child.mjs`, [target, mode, String(warmCalls)], {
      cwd: ROOT,
      env: { ...process.env, ...gw.env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    const out = {}
    child.on('message', (m) => {
      if (m === 'ready') {
        gw.reset()
        child.send('go')
      } else if (m.firstMs !== undefined) {
        out.firstRoundTrips = gw.counters().roundTrips
        out.firstMs = round(m.firstMs, 1)
        gw.reset()
        child.send('warm')
      } else if (m.warmMs !== undefined) {
        out.warmRoundTrips = gw.counters().roundTrips / warmCalls
        out.warmMs = round(m.warmMs, 1)
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (out.warmRoundTrips === undefined) reject(new Error(`${target}/${mode} exited ${code}: ${stderr.slice(-600)}`))
      else resolve(out)
    })
  })
}

export async function run() {
  const rows = []
  const warmCalls = QUICK ? 3 : 10
  for (const target of Object.keys(TARGETS)) {
    if (TARGETS[target].gateway === undefined) continue
    const id = `3-${target}`
    const name = `Round trips, first row and warm query: ${TARGETS[target].label}`
    if (!available(target)) {
      rows.push(
        row({
          id,
          name,
          baseline: 'raw driver',
          target: 'equal; 0 extra warm',
          skipped: `dist/drivers/${TARGETS[target].subpath}/index.js is not built yet`,
        }),
      )
      continue
    }
    const gw = await startGateway(target, { delayMs: DELAY_MS, tag: `lazydb-bench-rt-${target}` })
    try {
      const raw = await measure(target, 'raw', gw, warmCalls)
      const ours = await measure(target, 'lazydb', gw, warmCalls)
      const extraFirst = ours.firstRoundTrips - raw.firstRoundTrips
      const extraWarm = ours.warmRoundTrips - raw.warmRoundTrips
      rows.push(
        row({
          id,
          name,
          baseline: 'the raw driver client at module scope, same gateway and delay',
          measured: {
            lazydbFirst: ours.firstRoundTrips,
            rawFirst: raw.firstRoundTrips,
            lazydbWarm: ours.warmRoundTrips,
            rawWarm: raw.warmRoundTrips,
            extraFirst,
            extraWarm,
            lazydbFirstMs: ours.firstMs,
            rawFirstMs: raw.firstMs,
            lazydbWarmMs: ours.warmMs,
            rawWarmMs: raw.warmMs,
          },
          ratio: ours.firstRoundTrips / raw.firstRoundTrips,
          target: 'first: equal to raw; warm: 0 extra',
          pass: extraFirst <= 0 && extraWarm <= 0,
          unit:
            `round trips counted at the gateway (${DELAY_MS} ms one-way delay), each side in a fresh process; ` +
            'ratio = first-row round trips, lazydb / raw',
          notes:
            target === 'neon-ws'
              ? 'lazydb loads the optional ws package on first connect (inside the first-row time); ' +
                'the raw baseline imports it at module load'
              : undefined,
        }),
      )
    } finally {
      await gw.close()
    }
  }
  return rows
}
