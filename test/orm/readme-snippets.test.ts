// The README's Drizzle and Kysely sections show only code the ORM suites run: each ```ts block there,
// split at blank lines, must appear piece by piece (each piece line for line, in order) in one file of
// test/orm/. A snippet edited in one place and not the other fails here.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url)
const readme = readFileSync(new URL('README.md', root), 'utf8')
const start = readme.indexOf('\n### Drizzle\n')
const end = readme.indexOf('\n## ', start)
const sections = readme.slice(start, end)
const snippets = [...sections.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!)

const dir = new URL('test/orm/', root)
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.ts') && !name.startsWith('readme-'))
  .map((name) => ({
    name,
    lines: readFileSync(new URL(name, dir), 'utf8')
      .split('\n')
      .map((l) => l.trimEnd()),
  }))

/** Pieces of a snippet (split at blank lines), each a run of lines. */
const pieces = (snippet: string) =>
  snippet
    .trimEnd()
    .split(/\n\s*\n/)
    .map((piece) => piece.split('\n').map((l) => l.trimEnd()))

/** True when every piece appears in `lines` as consecutive lines, the pieces in order. */
function containsInOrder(lines: string[], parts: string[][]): boolean {
  let from = 0
  for (const part of parts) {
    let at = -1
    for (let i = from; i + part.length <= lines.length && at < 0; i++) {
      if (part.every((line, j) => lines[i + j] === line)) at = i
    }
    if (at < 0) return false
    from = at + part.length
  }
  return true
}

describe('README: Drizzle and Kysely snippets', () => {
  it('has the sections and their snippets', () => {
    expect(start).toBeGreaterThan(0)
    expect(sections).toContain('\n### Kysely\n')
    expect(snippets.length).toBeGreaterThanOrEqual(10)
  })

  it.each(snippets.map((snippet) => [snippet.split('\n').find((l) => l.trim() !== '')!, snippet]))(
    'runs %s',
    (_first, snippet) => {
      const found = files.filter((file) => containsInOrder(file.lines, pieces(snippet))).map((file) => file.name)
      expect(found, `not in any test/orm file:\n${snippet}`).not.toEqual([])
    },
  )
})
