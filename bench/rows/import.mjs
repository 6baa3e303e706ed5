// Row 6: import time of the core entry in a fresh process vs each raw driver's, median of many
// fresh processes taken in interleaved order. The ESM loader is warmed by a trivial import first.
import { writeFileSync } from 'node:fs'
import { QUICK, ROOT, ensureWork, hasBuiltDriver, median, round, row, runNode } from '../lib/util.mjs'

export async function run() {
  const work = ensureWork()
  const empty = `${work}empty-module.mjs`
  writeFileSync(empty, 'export const nothing = 0\n')
  // What a bundler makes of the core entry: one file (how serverless functions usually ship).
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
  const specifiers = {
    'one trivial module (floor)': empty,
    '@lazydb/core': '@lazydb/core',
    'lazydb core bundled into one file': bundled,
    '@lazydb/core/libsql': '@lazydb/core/libsql',
    '@libsql/client': '@libsql/client',
    '@neondatabase/serverless': '@neondatabase/serverless',
    '@planetscale/database': '@planetscale/database',
  }
  if (hasBuiltDriver('neon')) specifiers['@lazydb/core/neon'] = '@lazydb/core/neon'
  if (hasBuiltDriver('planetscale')) specifiers['@lazydb/core/planetscale'] = '@lazydb/core/planetscale'
  const names = Object.keys(specifiers)
  const times = Object.fromEntries(names.map((n) => [n, []]))
  const repeats = QUICK ? 5 : 15
  for (const n of names) await runNode([`${ROOT}bench/import-probe.mjs`, specifiers[n]]) // disk cache warm-up
  for (let r = 0; r < repeats; r++) {
    for (const n of r % 2 === 0 ? names : [...names].reverse()) {
      const res = await runNode([`${ROOT}bench/import-probe.mjs`, specifiers[n]])
      if (res.code !== 0) throw new Error(`importing ${n} failed: ${res.stderr.slice(-400)}`)
      times[n].push(Number(res.stdout))
    }
  }
  const ms = Object.fromEntries(names.map((n) => [n, round(median(times[n]), 2)]))
  const core = ms['@lazydb/core']
  const drivers = ['@libsql/client', '@neondatabase/serverless', '@planetscale/database']
  return [
    row({
      id: '6-import',
      name: 'Import time of the core entry (fresh process)',
      baseline: 'each raw driver package imported alone in a fresh process',
      measured: {
        coreMs: core,
        coreBundledMs: ms['lazydb core bundled into one file'],
        floorMs: ms['one trivial module (floor)'],
        ...Object.fromEntries(drivers.map((d) => [`${d} ms`, ms[d]])),
      },
      ratio: core / Math.min(...drivers.map((d) => ms[d])),
      target: 'core <= 5 ms',
      pass: core <= 5,
      unit: 'ms, median of fresh processes; ratio = core / fastest raw driver',
      notes:
        `as shipped, dist/ is ${countModules()} ES modules; ` +
        `bundled into one file it takes ${ms['lazydb core bundled into one file']} ms`,
      diagnostics: { repeats, medianMs: ms },
    }),
  ]
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
