/**
 * The public surface, pinned: every entry point the two packages publish (their `publishConfig.exports`)
 * is listed with the TypeScript compiler (each exported name, value or type, and its kind) and compared
 * with the checked-in api/exports.txt of its package. A new or removed export fails here until the list is
 * updated on purpose: `pnpm api:update` (or UPDATE_API_EXPORTS=1 with this test), then review the diff.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, test } from "@jest/globals"
import ts from "typescript"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
const PACKAGES = ["packages/adapter-refresh", "packages/adapter-refresh-tests"] as const
const SOURCE_CONDITION = "@authjs-adapter-refresh/source"
const UPDATE = process.env.UPDATE_API_EXPORTS === "1"

interface PackageJson {
  name: string
  exports: Record<string, string | Record<string, string>>
  publishConfig: { exports: Record<string, string | Record<string, string>> }
}

const readPackage = (dir: string): PackageJson =>
  JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as PackageJson

/** The published subpaths of a package and the source file each resolves to in the workspace. */
function publishedEntries(dir: string): { subpath: string; file: string }[] {
  const pkg = readPackage(dir)
  return Object.keys(pkg.publishConfig.exports)
    .filter((subpath) => subpath !== "./package.json")
    .map((subpath) => {
      const target = pkg.exports[subpath]
      const source = typeof target === "object" ? target[SOURCE_CONDITION] : undefined
      if (!source) throw new Error(`${pkg.name}: exports["${subpath}"] has no ${SOURCE_CONDITION} source file`)
      return { subpath, file: join(root, dir, source) }
    })
}

function kindOf(checker: ts.TypeChecker, exported: ts.Symbol): string {
  const typeOnly = exported.declarations?.some((d) => ts.isTypeOnlyExportDeclaration(d)) ?? false
  const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
  const f = symbol.flags
  const kind =
    f & ts.SymbolFlags.Class
      ? "class"
      : f & ts.SymbolFlags.Function
        ? "function"
        : f & ts.SymbolFlags.Variable
          ? "const"
          : f & ts.SymbolFlags.Enum
            ? "enum"
            : f & ts.SymbolFlags.Interface
              ? "interface"
              : f & ts.SymbolFlags.TypeAlias
                ? "type"
                : "other"
  const value = !typeOnly && (f & ts.SymbolFlags.Value) !== 0
  return `${value ? "value" : "type "} ${kind}`
}

/** The compiler's view of every published entry point of both packages. */
function compileEntries() {
  const entries = PACKAGES.map((dir) => ({ dir, entries: publishedEntries(dir) }))
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, "packages/adapter-refresh/tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => fail(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
    },
  )
  if (!config) throw new Error("cannot read packages/adapter-refresh/tsconfig.json")
  const program = ts.createProgram(
    entries.flatMap((p) => p.entries.map((e) => e.file)),
    { ...config.options, noEmit: true },
  )
  const checker = program.getTypeChecker()
  const exportsOf = (file: string): ts.Symbol[] => {
    const source = program.getSourceFile(file)
    const moduleSymbol = source && checker.getSymbolAtLocation(source)
    if (!moduleSymbol) throw new Error(`${file}: not a module`)
    return checker.getExportsOfModule(moduleSymbol)
  }
  return { entries, checker, exportsOf }
}

/** One text per package: its published entry points, each with its sorted exports. */
function listExports(): Map<string, string> {
  const { entries, checker, exportsOf } = compileEntries()
  const out = new Map<string, string>()
  for (const { dir, entries: list } of entries) {
    const pkg = readPackage(dir)
    const lines = [
      `# Public exports of ${pkg.name}, one published entry point per section: value|type, kind, name.`,
      "# Checked by packages/adapter-refresh/test/public-exports.test.ts; after a deliberate change: pnpm api:update",
    ]
    for (const { subpath, file } of list) {
      lines.push("", `## ${subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`}`)
      const names = exportsOf(file).map((s) => `${kindOf(checker, s)} ${s.name}`)
      lines.push(...names.sort((a, b) => a.split(" ").at(-1)!.localeCompare(b.split(" ").at(-1)!)))
    }
    out.set(dir, lines.join("\n") + "\n")
  }
  return out
}

function fail(message: string): never {
  throw new Error(message)
}

describe("public exports", () => {
  test("every published entry point exports exactly what api/exports.txt lists", () => {
    for (const [dir, actual] of listExports()) {
      const file = join(root, dir, "api/exports.txt")
      if (UPDATE) writeFileSync(file, actual)
      const expected = readFileSync(file, "utf8")
      if (actual !== expected) {
        // The message says what to do; the diff below says what changed.
        console.error(
          `${dir}: the public exports differ from ${dir}/api/exports.txt. If the change is meant, ` +
            "run `pnpm api:update`, review the diff and say so in CHANGELOG.md; otherwise remove the export.",
        )
      }
      expect(actual).toBe(expected)
    }
  }, 120_000)

  test("every public export has TSDoc, and every exported function says what it returns", () => {
    const { entries, checker, exportsOf } = compileEntries()
    const missing: string[] = []
    for (const { entries: list } of entries) {
      for (const { file } of list) {
        for (const exported of exportsOf(file)) {
          const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
          if (ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() === "") {
            missing.push(`${exported.name}: no TSDoc`)
          } else if (
            symbol.flags & ts.SymbolFlags.Function &&
            !symbol.getJsDocTags(checker).some((tag) => tag.name === "returns")
          ) {
            missing.push(`${exported.name}: no @returns`)
          }
        }
      }
    }
    expect([...new Set(missing)]).toEqual([])
  }, 120_000)

  test("the workspace-only ./internal entry is never published", () => {
    for (const dir of PACKAGES) {
      const pkg = readPackage(dir)
      expect(Object.keys(pkg.publishConfig.exports)).not.toContain("./internal")
      const internal = pkg.exports["./internal"]
      // Where it exists, only this workspace's source condition resolves it: no types, import or default.
      if (internal !== undefined) expect(Object.keys(internal)).toEqual([SOURCE_CONDITION])
    }
  })
})
