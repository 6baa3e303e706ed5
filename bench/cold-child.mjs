// One cold burst in a fresh process: `node bench/cold-child.mjs <target> <lazydb|naive> <count>`.
// Fires `count` first invocations at once and prints what happened as JSON.
import { lazydbDatabase, naiveCall } from './lib/drivers.mjs'

const [target, mode, countText] = process.argv.slice(2)
const count = Number(countText)
const env = process.env
let invoke
let registry
if (mode === 'lazydb') {
  const { Registry, handler } = await import('@lazydb/core')
  registry = new Registry({ database: await lazydbDatabase(target, env) })
  invoke = handler(registry, async () => (await registry.database.query('select 1 as one')).rows.length)
} else {
  const call = await naiveCall(target, env)
  invoke = async () => (await call('select 1 as one')).rows.length
}
const started = performance.now()
const settled = await Promise.allSettled(Array.from({ length: count }, () => invoke()))
const durationMs = performance.now() - started
const failed = settled.filter((s) => s.status === 'rejected')
const stats = registry?.stats()
const out = {
  ok: settled.length - failed.length,
  errors: failed.length,
  firstError: failed[0] ? String(failed[0].reason?.message ?? failed[0].reason).slice(0, 200) : undefined,
  durationMs: Math.round(durationMs),
  driverClientsCreated: stats ? stats.databases.default.connects : count,
  coldInvocations: stats?.invocations.cold,
}
await registry?.disconnect({ force: true }).catch(() => {})
process.stdout.write(`\n${JSON.stringify(out)}\n`)
process.exit(0)
