#!/usr/bin/env node
// Biome formats code at 120 columns (biome.json) but leaves long string literals, template literals and comments
// alone, so lines can still creep past the limit. This lists every such line in the git-tracked sources as
// file:line:length and exits 1 if there are any. No dependencies; run from anywhere inside the repository.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const LIMIT = 120
const DIRS = ['src/', 'test/', 'bench/', 'scripts/', 'functions/']
const EXTENSIONS = ['.ts', '.mjs', '.js', '.json']
// Generated or data files, and Markdown (tables have long rows), are not held to the limit.
const EXCLUDED = new Set(['bench/results.json', 'package-lock.json'])

const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim()
const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((file) => file !== '')
  .filter((file) => DIRS.some((dir) => file.startsWith(dir)) || !file.includes('/'))
  .filter((file) => EXTENSIONS.some((ext) => file.endsWith(ext)))
  .filter((file) => !EXCLUDED.has(file))
  .sort()

let found = 0
for (const file of files) {
  let text
  try {
    text = readFileSync(join(root, file), 'utf8')
  } catch (error) {
    // Deleted in the work tree but not yet in the index.
    if (error.code === 'ENOENT') continue
    throw error
  }
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    // Count code points, not UTF-16 units, so a line with emoji or astral characters is measured as it looks.
    const length = [...lines[i]].length
    if (length > LIMIT) {
      console.log(`${file}:${i + 1}:${length}`)
      found++
    }
  }
}

if (found > 0) {
  console.error(`${found} line${found === 1 ? '' : 's'} longer than ${LIMIT} characters`)
  process.exit(1)
}
