// Prints, as a JSON array, the milliseconds each `await import(specifier)` takes, one after another in
// this fresh process: `node bench/import-probe.mjs <specifier> [<specifier>…]`. A trivial module is
// imported first, so the ESM loader's own first-use cost (paid by any function's entry module before
// it imports anything) is not charged to the first specifier. A later specifier pays only for what the
// earlier ones did not load already: `@libsql/client @lazydb/core/libsql` gives the raw driver's import
// time, then what lazydb adds on top of it.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'

const dir = new URL('./.work/', import.meta.url)
const warm = new URL('probe-warmup.mjs', dir)
if (!existsSync(warm)) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(warm, 'export default 0\n')
}
await import(warm.href)
const times = []
for (const specifier of process.argv.slice(2)) {
  const started = process.hrtime.bigint()
  await import(specifier)
  times.push(Number(process.hrtime.bigint() - started) / 1e6)
}
process.stdout.write(JSON.stringify(times))
