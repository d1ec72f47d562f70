/**
 * Every `pnpm <script>` the README and docs name must run that script. pnpm runs a bare `pnpm <name>` as
 * the script only when pnpm has no command of that name: `pnpm docs` is pnpm's own "open a package's
 * docs page" and fails on a fresh clone. (Each named command was also run from a fresh clone by hand.)
 */
import { describe, expect, test } from "@jest/globals"
import { readFileSync, readdirSync } from "node:fs"

const root = new URL("../../../../", import.meta.url)
const read = (path: string): string => readFileSync(new URL(path, root), "utf8")
const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts)

// pnpm's own commands that shadow a script of the same name (pnpm 12 `pnpm help`); `test`, `start`,
// `restart` and `stop` run the script and are not listed.
const PNPM_COMMANDS = new Set([
  "add",
  "audit",
  "bin",
  "bugs",
  "cache",
  "cat-file",
  "cat-index",
  "config",
  "create",
  "dedupe",
  "deploy",
  "dlx",
  "docs",
  "env",
  "exec",
  "fetch",
  "find-hash",
  "home",
  "import",
  "info",
  "init",
  "install",
  "install-test",
  "licenses",
  "link",
  "list",
  "ls",
  "outdated",
  "pack",
  "patch",
  "patch-commit",
  "patch-remove",
  "prune",
  "publish",
  "rebuild",
  "remove",
  "repo",
  "root",
  "run",
  "self-update",
  "server",
  "setup",
  "store",
  "unlink",
  "update",
  "view",
  "why",
])

const documents = [
  "README.md",
  ...readdirSync(new URL("docs/", root))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
]

describe("commands the README and docs name", () => {
  test.each(documents)("%s names no script as `pnpm <name>` where pnpm has a command of that name", (document) => {
    const named = [...read(document).matchAll(/\bpnpm ([a-z][a-z0-9:-]*)/g)].map((match) => match[1]!)
    const shadowed = named.filter((name) => scripts.includes(name) && PNPM_COMMANDS.has(name))
    expect(shadowed).toEqual([])
  })

  test("the check sees the shadowing it guards against", () => {
    expect(scripts).toContain("docs")
    expect(PNPM_COMMANDS.has("docs")).toBe(true)
  })
})
