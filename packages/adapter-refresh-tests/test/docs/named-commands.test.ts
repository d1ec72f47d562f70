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

// pnpm's own commands and their aliases, which shadow a script of the same name (pnpm 12.4.2's `pnpm help`);
// `test`, `start`, `restart`, `stop` (and their aliases) and, since pnpm 11, `clean`, `setup`, `deploy` and `rebuild`
// run the script and are not listed.
const PNPM_COMMANDS = new Set(
  `
  access add adduser approve-builds audit bin bugs c cache cat-file cat-index change ci clean-install
  completion config create dedupe deprecate dislink dist-tag dist-tags dlx docs doctor edit env exec
  fetch find find-hash get help home i ic ignored-builds import info init install install-clean install-test
  issues it la lane licences licenses link list ll ln login logout ls m multi outdated owner owners pack
  pack-app patch patch-commit patch-remove peers ping pipeline pkg prefix profile prune publish purge rb
  recursive remove repo rm root run runtime s sbom se search self-update set set-script shim show ss stage
  star stars store team token un undeprecate uni uninstall unlink unpublish unstar up update upgrade v version
  view whoami why with xmas
  `
    .trim()
    .split(/\s+/),
)

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

  test("`pnpm lint`, `pnpm format` and `pnpm format:check` are the workspace's scripts, not pnpm commands", () => {
    for (const name of ["lint", "format", "format:check"]) {
      expect(scripts).toContain(name)
      expect(PNPM_COMMANDS.has(name)).toBe(false)
    }
  })
})
