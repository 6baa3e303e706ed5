#!/usr/bin/env node
// `npx lazydb migrate` / `npx lazydb migrate status`: the databases come from DATABASE_URL and
// DATABASE_URL_<NAME>, as Registry.fromEnv reads them.
import { parseArgs } from 'node:util'
import { LazyDbError } from './errors.js'
import { migrate, migrationStatus, type MigrationProgress } from './migrate/index.js'
import { Registry } from './registry.js'

const USAGE = `Usage:
  lazydb migrate [--dir migrations] [--database NAME] [--to FILE] [--dry-run] [--schema NAME] [--lock-timeout MS]
  lazydb migrate status [--dir migrations] [--database NAME] [--schema NAME]

Databases: DATABASE_URL (the default one) and DATABASE_URL_<NAME> (the extra one <name>).
Files: <dir>/<name>/NNNN_title.sql; the default database's in <dir>/default/ or <dir>/.`

function line(event: MigrationProgress): string {
  const what =
    event.state === 'applied'
      ? `applied in ${event.durationMs} ms`
      : event.state === 'skipped'
        ? 'already applied'
        : 'pending'
  return `${event.database}  ${event.name}  ${what}`
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string', default: 'migrations' },
      database: { type: 'string' },
      to: { type: 'string' },
      schema: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'lock-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const [command, sub] = positionals
  if (values.help || command !== 'migrate' || (sub !== undefined && sub !== 'status') || positionals.length > 2) {
    ;(values.help ? process.stdout : process.stderr).write(`${USAGE}\n`)
    return values.help ? 0 : 2
  }
  const lockTimeoutMs = values['lock-timeout'] === undefined ? undefined : Number(values['lock-timeout'])
  const common = {
    dir: values.dir,
    ...(values.database === undefined ? {} : { database: values.database }),
    ...(values.schema === undefined ? {} : { schema: values.schema }),
    ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
  }
  const registry = Registry.fromEnv(process.env, { warn: false })
  try {
    if (sub === 'status') {
      for (const { database, migrations } of await migrationStatus(registry, common)) {
        if (migrations.length === 0) console.log(`${database}  (no migration files)`)
        for (const m of migrations) {
          console.log(`${database}  ${m.name}  ${m.state}${m.appliedAt === undefined ? '' : `  ${m.appliedAt}`}`)
        }
      }
      return 0
    }
    const results = await migrate(registry, {
      ...common,
      ...(values.to === undefined ? {} : { to: values.to }),
      dryRun: values['dry-run'],
      onProgress: (event) => console.log(line(event)),
    })
    for (const r of results) {
      const done = values['dry-run'] ? `${r.pending.length} pending` : `${r.applied.length} applied`
      console.log(`${r.database}: ${done}, ${r.skipped.length} already applied`)
    }
    return 0
  } finally {
    await registry.disconnect({ force: true }).catch(() => undefined)
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    const code = error instanceof LazyDbError ? `${error.code}: ` : ''
    process.stderr.write(`lazydb: ${code}${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  },
)
