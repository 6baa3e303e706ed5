// The package as its users get it: `npm pack`, the tarball installed (offline) into a scratch app with
// the optional peers beside it, then checked from the app as a user's tools see it:
// - tsc strict with skipLibCheck false, under NodeNext and under "bundler" resolution, on a file using
//   every public export of every subpath (fixtures/packed-consumer.ts) plus every shipped .d.ts, so a
//   declaration that breaks (e.g. names something stripInternal removed) fails here;
// - a project with only @neondatabase/serverless installed type-checks its imports of the core and /neon
//   (no shipped declaration it reaches needs another driver's package);
// - @arethetypeswrong/cli on the tarball, profile esm-only;
// - the compiled consumer runs on Node under the default conditions and under `worker`, where the
//   subpaths import the Worker/edge core (dist/index.worker.js) the app's own import resolves to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../support/tmp.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const TSC = `${root}node_modules/typescript/bin/tsc`
const ATTW = `${root}node_modules/@arethetypeswrong/cli/dist/index.js`
const ALL_PEERS = [
  '@types/node',
  '@neondatabase/serverless',
  '@planetscale/database',
  '@libsql/client',
  '@vercel/functions',
  'ws',
  'hono',
  '@opentelemetry/api',
  'pg',
  '@types/pg',
  'mysql2',
  'postgres',
]
const exportsMap = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, unknown> })
  .exports
/** Every subpath with declarations, from package.json: '.', './neon', …; each gets checked. */
const TYPED_SUBPATHS = Object.entries(exportsMap)
  .filter(([, target]) => typeof target === 'object' && target !== null && 'types' in target)
  .map(([subpath, target]) => ({ subpath, types: (target as { types: string }).types }))
const dir = tempDir('lazydb-packed-')
const fullApp = join(dir.dir, 'app')
const neonOnlyApp = join(dir.dir, 'neon-only')
let tarball = ''
/** The three tsc runs, started together once the apps exist (each takes seconds). */
let checks: { nodeNext: Promise<Run>; bundler: Promise<Run>; neonOnly: Promise<Run> }

interface Run {
  code: number
  output: string
}

/** Runs a command to completion (or kills it after `timeoutMs`); never rejects. */
function run(command: string, args: string[], cwd: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
      resolve({ code, output: `${stdout}${stderr}` })
    })
  })
}

async function mustRun(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd)
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.code}):\n${result.output}`)
  return result.output
}

/** A scratch app with the tarball installed by npm (offline) and `peers` linked from this repository. */
async function scratchApp(app: string, peers: string[]): Promise<void> {
  mkdirSync(app, { recursive: true })
  writeFileSync(join(app, 'package.json'), '{ "name": "scratch-app", "private": true, "type": "module" }\n')
  await mustRun(
    'npm',
    ['install', '--offline', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', tarball],
    app,
  )
  for (const peer of peers) {
    mkdirSync(dirname(join(app, 'node_modules', peer)), { recursive: true })
    symlinkSync(join(root, 'node_modules', peer), join(app, 'node_modules', peer), 'dir')
  }
}

/**
 * The names a shipped .d.ts exports: its own `export interface|type|class|function|const …`, the
 * names in `export { … } from` lists, and, through `export * from` / `export type * from`, the
 * exports of the file named.
 */
function declaredExports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const names = [
    ...text.matchAll(/^export (?:declare )?(?:interface|type|class|function|const|let|enum) ([A-Za-z_$][\w$]*)/gm),
  ].map((m) => m[1]!)
  for (const [, list] of text.matchAll(/^export (?:type )?\{([^}]*)\}/gm))
    for (const item of list!.split(',')) {
      const name = item
        .trim()
        .replace(/^type /, '')
        .split(/ as /)
        .at(-1)!
        .trim()
      if (name !== '') names.push(name)
    }
  for (const [, from] of text.matchAll(/^export (?:type )?\* from '([^']+)'/gm))
    names.push(...declaredExports(join(dirname(file), from!.replace(/\.js$/, '.d.ts'))))
  return [...new Set(names)]
}

const STRICT = {
  strict: true,
  skipLibCheck: false,
  // TypeScript's own lib.*.d.ts only: every package's declarations, ours first, are still checked.
  skipDefaultLibCheck: true,
  target: 'ES2022',
  // @planetscale/database's declarations name DOM types (RequestCache).
  lib: ['ES2022', 'DOM'],
  types: ['node'],
}
const SHIPPED_DECLARATIONS = ['node_modules/@lazydb/core/dist/**/*.d.ts']

function writeConfig(app: string, name: string, compilerOptions: object, files: string[], include: string[] = []) {
  writeFileSync(join(app, name), JSON.stringify({ compilerOptions: { ...STRICT, ...compilerOptions }, files, include }))
}

beforeAll(async () => {
  const packed = JSON.parse(await mustRun('npm', ['pack', '--json', '--pack-destination', dir.dir], root)) as {
    filename: string
  }[]
  tarball = join(dir.dir, packed[0]!.filename)
  await Promise.all([
    scratchApp(fullApp, ALL_PEERS),
    scratchApp(neonOnlyApp, ['@types/node', '@neondatabase/serverless']),
  ])

  copyFileSync(`${root}test/runtimes/fixtures/packed-consumer.ts`, join(fullApp, 'consumer.ts'))
  const nodeNext = { module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out', noEmitOnError: true }
  writeConfig(fullApp, 'tsconfig.nodenext.json', nodeNext, ['consumer.ts'], SHIPPED_DECLARATIONS)
  const bundler = { module: 'ESNext', moduleResolution: 'bundler', noEmit: true }
  writeConfig(fullApp, 'tsconfig.bundler.json', bundler, ['consumer.ts'], SHIPPED_DECLARATIONS)

  writeFileSync(
    join(neonOnlyApp, 'app.ts'),
    "import { Registry, type QueryResult } from '@lazydb/core'\n" +
      "import { neon } from '@lazydb/core/neon'\n" +
      "const registry = new Registry({ database: neon('postgres://u@h/db') })\n" +
      "export const rows: Promise<QueryResult<{ id: number }>> = registry.database.query('select 1 as id')\n",
  )
  writeConfig(neonOnlyApp, 'tsconfig.json', { module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true }, [
    'app.ts',
  ])
  const tsc = (app: string, config: string) => run(process.execPath, [TSC, '-p', config], app)
  checks = {
    nodeNext: tsc(fullApp, 'tsconfig.nodenext.json'),
    bundler: tsc(fullApp, 'tsconfig.bundler.json'),
    neonOnly: tsc(neonOnlyApp, 'tsconfig.json'),
  }
}, 120_000)
afterAll(() => dir.remove())

describe('the packed package, installed into a scratch app', () => {
  it('the consumer imports every subpath and names every export of its shipped declarations', () => {
    const consumer = readFileSync(`${root}test/runtimes/fixtures/packed-consumer.ts`, 'utf8')
    const unnamed: string[] = []
    for (const { subpath, types } of TYPED_SUBPATHS) {
      const specifier = subpath === '.' ? '@lazydb/core' : `@lazydb/core${subpath.slice(1)}`
      if (!consumer.includes(`from '${specifier}'`)) unnamed.push(`import from '${specifier}'`)
      for (const name of declaredExports(join(fullApp, 'node_modules/@lazydb/core', types)))
        if (!new RegExp(`\\b${name}\\b`).test(consumer)) unnamed.push(`${specifier}: ${name}`)
    }
    expect(unnamed).toEqual([])
  })

  it('tsc (strict, skipLibCheck false, NodeNext) accepts every public export and every shipped .d.ts', async () => {
    const result = await checks.nodeNext
    expect(result.output).toBe('')
    expect(result.code).toBe(0)
  })

  it('tsc (strict, skipLibCheck false, moduleResolution bundler) accepts the same', async () => {
    const result = await checks.bundler
    expect(result.output).toBe('')
    expect(result.code).toBe(0)
  })

  it('with only @neondatabase/serverless installed, the core and /neon type-check (skipLibCheck false)', async () => {
    const result = await checks.neonOnly
    expect(result.output).toBe('')
    expect(result.code).toBe(0)
  })

  it('@arethetypeswrong/cli finds no problem (profile esm-only) and resolves types for every subpath', async () => {
    const result = await run(process.execPath, [ATTW, tarball, '--profile', 'esm-only', '--format', 'json'], dir.dir)
    expect(result.code, result.output).toBe(0)
    const { analysis } = JSON.parse(result.output) as {
      analysis: { entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }> }
    }
    const typed = Object.entries(analysis.entrypoints)
      .filter(([, entry]) => entry.resolutions['node16-esm']?.resolution?.fileName.endsWith('.d.ts'))
      .map(([subpath]) => subpath)
    expect(typed.sort()).toEqual(TYPED_SUBPATHS.map((s) => s.subpath).sort())
  })

  it('the compiled consumer runs on Node: default conditions, then `worker` (the Worker/edge core)', async () => {
    const compiled = await checks.nodeNext // emits out/consumer.js
    expect(compiled.code, compiled.output).toBe(0)
    const onNode = JSON.parse(await mustRun(process.execPath, ['out/consumer.js'], fullApp)) as Record<string, unknown>
    const onWorker = JSON.parse(
      await mustRun(process.execPath, ['--conditions=worker', 'out/consumer.js', '--worker'], fullApp),
    ) as Record<string, unknown>
    const shared = {
      platform: 'node',
      sameDatabaseClass: true,
      classified: 'object',
      classifiedPg: true,
      classifiedTcp: [true, 'object'],
      split: 2,
      adapters: Array(8).fill('function'),
      sharedHandler: true,
      lambdaWrapped: 'function',
      workerWrapped: 'function',
      honoMiddleware: 'function',
      traced: 'ran',
      missing: 'DRIVER_MISSING',
    }
    const lifespan = { drained: true }
    expect(onNode).toEqual({
      ...shared,
      core: 'dist/index.js',
      rows: [{ answer: 42 }],
      connects: 1,
      lifespan,
      rolledBack: { two: 2 },
      migrated: 'function',
    })
    expect(onWorker).toEqual({ ...shared, core: 'dist/index.worker.js' })
  })
})
