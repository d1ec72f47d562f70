/**
 * scripts/node-gyp-headers.mjs (the workspace's `pnpm:devPreinstall`, README "Installing"), run as pnpm runs
 * it: a real Node process on a real HOME of its own. It must leave node-gyp an entry it builds from (a link
 * to this Node's headers and the `installVersion` marker), repair one it would not use, leave node-gyp's own
 * downloads alone, and never fail or hang the install.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"

const SCRIPT = new URL("../../../../scripts/node-gyp-headers.mjs", import.meta.url).pathname
const HEADERS = path.join(path.dirname(path.dirname(process.execPath)), "include", "node")
const VERSION = process.versions.node
const haveHeaders = fs.existsSync(path.join(HEADERS, "common.gypi"))

let root: string
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "node-gyp-headers-test-"))
})
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

let homes = 0
/** Runs the script with only `env` set (and PATH), in a new HOME unless env names one; bounded at 20 s. */
function run(env: Record<string, string> = {}): { home: string; status: number | null; output: string } {
  const home = path.join(root, `home-${++homes}`)
  const result = spawnSync(process.execPath, [SCRIPT], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...env },
    encoding: "utf8",
    timeout: 20_000,
  })
  return { home: env.HOME ?? home, status: result.status, output: `${result.stdout}${result.stderr}` }
}

const entry = (cacheRoot: string) => path.join(cacheRoot, VERSION)
const usable = (versionDir: string) =>
  fs.readFileSync(path.join(versionDir, "installVersion"), "ascii") === "11\n" &&
  fs.realpathSync(path.join(versionDir, "include", "node")) === fs.realpathSync(HEADERS)

// The script acts only on Linux, where this Node ships its headers (Debian's nodejs and the official builds do).
const withHeaders = haveHeaders && process.platform === "linux" ? describe : describe.skip

withHeaders("node-gyp's header cache for this Node's own headers", () => {
  test("a fresh HOME gets a link to the headers and the marker node-gyp checks", () => {
    const { home, status, output } = run()
    expect(status).toBe(0)
    expect(output).toContain("wrote")
    expect(usable(entry(path.join(home, ".cache", "node-gyp")))).toBe(true)
  })

  test("XDG_CACHE_HOME and npm_config_devdir (any case, with ~) choose the folder, as they do for node-gyp", () => {
    const xdg = path.join(root, "xdg")
    expect(run({ XDG_CACHE_HOME: xdg }).status).toBe(0)
    expect(usable(entry(path.join(xdg, "node-gyp")))).toBe(true)
    const { home } = run({ NPM_CONFIG_DEVDIR: "~/gyp" })
    expect(usable(entry(path.join(home, "gyp")))).toBe(true)
  })

  test("an entry node-gyp would not use is repaired: a link without its marker, a dangling link", () => {
    const home = path.join(root, "partial")
    const versionDir = entry(path.join(home, ".cache", "node-gyp"))
    fs.mkdirSync(path.join(versionDir, "include"), { recursive: true })
    fs.symlinkSync(HEADERS, path.join(versionDir, "include", "node"))
    expect(run({ HOME: home }).output).toContain("wrote")
    expect(usable(versionDir)).toBe(true)

    fs.rmSync(path.join(versionDir, "include", "node"))
    fs.symlinkSync(path.join(root, "a-node-since-removed"), path.join(versionDir, "include", "node"))
    expect(run({ HOME: home }).output).toContain("wrote")
    expect(usable(versionDir)).toBe(true)
    expect(run({ HOME: home }).output).toContain("kept")
  })

  test("a folder of headers (node-gyp's own download) is left alone", () => {
    const home = path.join(root, "downloaded")
    const headers = path.join(entry(path.join(home, ".cache", "node-gyp")), "include", "node")
    fs.mkdirSync(headers, { recursive: true })
    fs.writeFileSync(path.join(headers, "common.gypi"), "{}")
    const { status, output } = run({ HOME: home })
    expect(status).toBe(0)
    expect(output).toContain("left alone")
    expect(fs.lstatSync(headers).isDirectory()).toBe(true)
  })

  test("npm_config_nodedir, which node-gyp builds against, means nothing is written", () => {
    const { home, status, output } = run({ npm_config_nodedir: HEADERS })
    expect(status).toBe(0)
    expect(output).toContain("skipped")
    expect(fs.existsSync(home)).toBe(false)
  })

  test("a HOME where nothing can be written never fails nor hangs the install", () => {
    // Under /proc no folder can be made: Node 20's recursive mkdirSync loops forever there.
    const { status, output } = run({ HOME: "/proc/no-such-home" })
    expect(status).toBe(0)
    expect(output).toContain("could not set up node-gyp's header cache")
  })
})
