// Runs one row module in its own process (fresh module state, warm caches and JIT) and prints its
// rows as JSON on the last line of stdout: `node bench/lib/child.mjs <row> [--quick]`.
const name = process.argv[2]
const mod = await import(`../rows/${name}.mjs`)
const rows = await mod.run()
process.stdout.write(`\n@@ROWS@@${JSON.stringify(rows)}\n`)
process.exit(0)
