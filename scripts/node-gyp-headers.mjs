// Runs as `pnpm:devPreinstall`, before pnpm installs anything (README "Installing").
//
// Why: better-sqlite3's install script first tries to download a prebuilt binary; where that download is
// out of reach it builds with node-gyp, and node-gyp downloads Node's headers unless it is told where they
// are. npm users tell it with `nodedir` in ~/.npmrc, but pnpm neither reads that setting nor accepts one of
// its own, so `pnpm install` failed on a machine that has every header it needs.
//
// What: when this Node ships its own headers (<prefix>/include/node) and node-gyp's header cache has no
// entry for this Node version, write that entry: a link to the shipped headers plus the `installVersion`
// marker node-gyp checks. node-gyp then finds its headers and downloads nothing. Nothing else is touched;
// a machine that reaches the prebuilt binaries, or that already has the cache entry, is left as it was.
import { existsSync, mkdirSync, symlinkSync, writeFileSync, readFileSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"

// node-gyp 9 to 12 write and expect this marker; a higher one on its side makes it re-download.
const NODE_GYP_INSTALL_VERSION = 11

function main() {
  if (process.platform !== "linux") return "skipped: node-gyp's header cache is set up only on Linux"
  if (process.env.npm_config_nodedir) return `skipped: npm_config_nodedir is set (${process.env.npm_config_nodedir})`
  const headers = join(dirname(dirname(process.execPath)), "include", "node")
  if (!existsSync(join(headers, "node_version.h")) || !existsSync(join(headers, "common.gypi"))) {
    return `skipped: this Node has no headers at ${headers}; node-gyp will download them if it has to`
  }
  // node-gyp's own choice of folder (env-paths on Linux): $npm_config_devdir, else $XDG_CACHE_HOME/node-gyp.
  const cacheRoot =
    process.env.npm_config_devdir || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "node-gyp")
  const versionDir = join(cacheRoot, process.version.slice(1))
  const marker = join(versionDir, "installVersion")
  if (existsSync(marker) && Number.parseInt(readFileSync(marker, "ascii"), 10) >= NODE_GYP_INSTALL_VERSION) {
    return `kept: ${versionDir} is already set up`
  }
  if (existsSync(join(versionDir, "include"))) return `kept: ${versionDir} has headers but no marker; left as it is`
  mkdirSync(join(versionDir, "include"), { recursive: true })
  symlinkSync(headers, join(versionDir, "include", "node"), "dir")
  writeFileSync(marker, `${NODE_GYP_INSTALL_VERSION}\n`)
  return `wrote ${versionDir} (a link to ${headers}): node-gyp builds against this Node's own headers`
}

try {
  console.log(`[node-gyp headers] ${main()}`)
} catch (error) {
  // Never fail the install here: if the cache cannot be written, node-gyp reports its own error later.
  console.log(
    `[node-gyp headers] could not set up node-gyp's header cache: ` +
      `${error instanceof Error ? error.message : String(error)}`,
  )
}
