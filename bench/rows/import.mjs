// Row 6: import time in fresh processes (bench/import-probe.mjs), all probes interleaved (order
// reversed every other repeat), the ESM loader warmed by a trivial import first.
//   6-import          the core entry alone (no driver), beside an empty module (Node's floor)
//   6-import-<driver> what lazydb's driver subpath adds over importing the raw driver package alone,
//                     paired per process: one process imports the driver (timed), then the subpath
//                     (timed; it loads only lazydb's own modules, the driver being loaded). Median of
//                     processes. Cross-check: a separate process importing the subpath alone, minus
//                     the driver-alone time of the paired process run next to it.
import { writeFileSync } from 'node:fs'
import { QUICK, ROOT, ensureWork, hasBuiltDriver, median, round, row, runNode } from '../lib/util.mjs'
import { bootstrapInterval, quantile } from '../lib/stats.mjs'

const REPEATS = QUICK ? 7 : 21
const ADDED_TARGET_MS = 3
const CORE_TARGET_MS = 5
const DRIVERS = {
  libsql: '@libsql/client',
  neon: '@neondatabase/serverless',
  planetscale: '@planetscale/database',
}

/** What a bundler makes of the core entry: one file (how serverless functions usually ship). */
async function bundleCore(work) {
  const bundled = `${work}core-bundled.mjs`
  const { build } = await import('esbuild')
  await build({
    entryPoints: [`${ROOT}dist/index.js`],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    outfile: bundled,
    logLevel: 'warning',
  })
  return bundled
}

/** Probe name → the specifiers one fresh process imports in turn. */
async function probes() {
  const work = ensureWork()
  const empty = `${work}empty-module.mjs`
  writeFileSync(empty, 'export const nothing = 0\n')
  const list = {
    floor: [empty],
    core: ['@lazydb/core'],
    coreBundled: [await bundleCore(work)],
  }
  for (const [subpath, pkg] of Object.entries(DRIVERS)) {
    if (!hasBuiltDriver(subpath)) continue
    list[`${subpath}:paired`] = [pkg, `@lazydb/core/${subpath}`]
    list[`${subpath}:subpathAlone`] = [`@lazydb/core/${subpath}`]
  }
  return list
}

/** Runs every probe REPEATS times, interleaved; probe name → one array of times (ms) per process. */
async function measure(list) {
  const names = Object.keys(list)
  const times = Object.fromEntries(names.map((n) => [n, []]))
  for (const n of names) await runNode([`${ROOT}bench/import-probe.mjs`, ...list[n]]) // disk cache warm-up
  for (let r = 0; r < REPEATS; r++) {
    for (const n of r % 2 === 0 ? names : [...names].reverse()) {
      const res = await runNode([`${ROOT}bench/import-probe.mjs`, ...list[n]])
      if (res.code !== 0) throw new Error(`import probe ${n} failed: ${res.stderr.slice(-400)}`)
      times[n].push(JSON.parse(res.stdout))
    }
  }
  return times
}

function coreRow(times) {
  const ms = (name) => round(median(times[name].map(([t]) => t)), 2)
  const core = ms('core')
  return row({
    id: '6-import',
    name: 'Import time of the core entry (fresh process)',
    baseline: 'an empty module (what Node costs for any import)',
    measured: { coreMs: core, coreBundledMs: ms('coreBundled'), floorMs: ms('floor') },
    target: `core <= ${CORE_TARGET_MS} ms`,
    pass: core <= CORE_TARGET_MS,
    unit: `ms, median of ${REPEATS} fresh processes; no ratio (the core loads no driver: see 6-import-<driver>)`,
    notes: `as shipped, dist/ is ${countModules()} ES modules; bundled into one file it takes ${ms('coreBundled')} ms`,
    diagnostics: { repeats: REPEATS, timesMs: times.core.map(([t]) => round(t, 2)) },
  })
}

function driverRow(subpath, times) {
  const floorMs = round(median(times.floor.map(([t]) => t)), 2)
  const pkg = DRIVERS[subpath]
  const paired = times[`${subpath}:paired`]
  const rawMs = paired.map(([raw]) => raw)
  const addedMs = paired.map(([, added]) => added)
  // Cross-check in separate processes: the subpath alone minus the driver alone measured next to it.
  const separateMs = times[`${subpath}:subpathAlone`].map(([whole], i) => whole - rawMs[i])
  const added = median(addedMs)
  const interval = bootstrapInterval([addedMs], median, { seed: 20260502 })
  return row({
    id: `6-import-${subpath}`,
    name: `Import time lazydb adds over the raw driver: @lazydb/core/${subpath} vs ${pkg} (fresh process)`,
    baseline: `${pkg} imported alone`,
    measured: {
      addedMs: round(added, 2),
      addedP25Ms: round(quantile(addedMs, 0.25), 2),
      addedP75Ms: round(quantile(addedMs, 0.75), 2),
      addedInterval: { low: round(interval.low, 2), high: round(interval.high, 2), level: interval.level },
      rawMs: round(median(rawMs), 2),
      addedInSeparateProcessesMs: round(median(separateMs), 2),
    },
    ratio: median(paired.map(([raw, extra]) => (raw + extra) / raw)),
    target: `<= ${ADDED_TARGET_MS} ms added (median)`,
    pass: added <= ADDED_TARGET_MS,
    unit:
      `ms added, median of ${REPEATS} fresh processes that import ${pkg} then @lazydb/core/${subpath}; ` +
      'ratio = median per process of (driver + added) / driver; interval: seeded bootstrap of the median',
    notes:
      `the figure includes one more import() call's fixed cost (an empty module: ${floorMs} ms), which a ` +
      'function importing the subpath alone does not pay apart; cross-check: the subpath imported alone in its ' +
      'own process, minus the driver-alone time of the process run next to it (noisier: two processes)',
    diagnostics: {
      repeats: REPEATS,
      addedMs: addedMs.map((t) => round(t, 2)),
      rawMs: rawMs.map((t) => round(t, 2)),
      addedInSeparateProcessesMs: separateMs.map((t) => round(t, 2)),
    },
  })
}

export async function run() {
  const times = await measure(await probes())
  const rows = [coreRow(times)]
  for (const subpath of Object.keys(DRIVERS)) if (times[`${subpath}:paired`]) rows.push(driverRow(subpath, times))
  return rows
}

function countModules() {
  // Modules reachable from dist/index.js (relative imports only).
  const { readFileSync } = globalThis.process.getBuiltinModule('node:fs')
  const seen = new Set()
  const visit = (file) => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]|import\s*['"](\.[^'"]+)['"]/g)) {
      visit(new URL(m[1] ?? m[2], `file://${file}`).pathname)
    }
  }
  visit(`${ROOT}dist/index.js`)
  return seen.size
}
