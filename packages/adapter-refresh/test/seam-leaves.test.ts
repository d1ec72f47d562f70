/**
 * The seam and the errors are leaves: store.ts (the AccountStore interface) and errors.ts import, even
 * through other modules and even as types only, no module under databases/ or stores/. So a store of any
 * kind (Redis, an HTTP API) implements the seam and reports "busy" without any database's code, and a new
 * database or client never edits them. The graph is read from the sources with TypeScript's own
 * pre-processor (imports, re-exports, `import type`, dynamic imports).
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, test } from "@jest/globals"
import ts from "typescript"

const src = resolve(dirname(fileURLToPath(import.meta.url)), "../src")

/** The library modules `file` imports directly, as paths relative to src/. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(src, file), "utf8"), true, true)
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => relative(src, resolve(dirname(join(src, file)), name.replace(/\.js$/, ".ts"))))
}

/** Every module `file` reaches, each with the chain of imports that reaches it. */
function reachable(file: string): Map<string, string[]> {
  const chains = new Map<string, string[]>([[file, [file]]])
  const queue = [file]
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const imported of importsOf(next)) {
      if (chains.has(imported)) continue
      if (!existsSync(join(src, imported))) throw new Error(`${next} imports ${imported}, which does not exist`)
      chains.set(imported, [...chains.get(next)!, imported])
      queue.push(imported)
    }
  }
  return chains
}

describe.each(["store.ts", "errors.ts"])("%s is a leaf", (leaf) => {
  test("it reaches no database module and no store, directly or through another module", () => {
    const forbidden = [...reachable(leaf).entries()]
      .filter(([file]) => file.startsWith("databases/") || file.startsWith("stores/"))
      .map(([, chain]) => chain.join(" -> "))
    expect(forbidden).toEqual([])
  })
})

test("the graph reader sees imports: a store reaches its database module and the seam", () => {
  const fromPg = [...reachable("stores/pg.ts").keys()]
  expect(fromPg).toEqual(expect.arrayContaining(["databases/postgres.ts", "store.ts", "errors.ts"]))
})
