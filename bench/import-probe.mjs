// Prints the milliseconds one `await import(specifier)` takes in this fresh process. A trivial
// module is imported first, so the ESM loader's own first-use cost (paid by any function's entry
// module before it imports anything) is not charged to the specifier.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'

const dir = new URL('./.work/', import.meta.url)
const warm = new URL('probe-warmup.mjs', dir)
if (!existsSync(warm)) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(warm, 'export default 0\n')
}
await import(warm.href)
const specifier = process.argv[2]
const started = process.hrtime.bigint()
await import(specifier)
process.stdout.write(String(Number(process.hrtime.bigint() - started) / 1e6))
