// Runs as `pnpm:devPreinstall`, before pnpm installs anything (README "Installing").
//
// Why: better-sqlite3's install script first tries to download a prebuilt binary; where that download is
// out of reach it builds with node-gyp, and node-gyp downloads Node's headers unless it is told where they
// are. npm users tell it with `nodedir` in ~/.npmrc, but pnpm neither reads that setting nor accepts one of
// its own, so `pnpm install` failed on a machine that has every header it needs.
//
// What: when this Node ships its own headers (<prefix>/include/node, of this very version) and node-gyp's
// header cache has no usable entry for this version, write that entry: a link to the shipped headers plus
// the `installVersion` marker node-gyp checks. node-gyp then finds its headers and downloads nothing.
// Nothing else is touched: a complete entry, or a folder of headers node-gyp downloaded, is left as it is,
// and a machine that reaches the prebuilt binaries never asks node-gyp at all. It never fails the install.
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, isAbsolute, join } from "node:path"

// node-gyp 9 to 12 write and expect this marker; a higher one on its side makes it download again.
const NODE_GYP_INSTALL_VERSION = 11

// node-gyp reads npm's settings from npm_config_<key> in any letter case.
function npmSetting(key) {
  const found = Object.entries(process.env).find(([name, value]) => value && name.toLowerCase() === `npm_config_${key}`)
  return found?.[1]
}

/** The version a header folder is for ("20.20.2"), or undefined when it holds no node_version.h. */
function headersVersion(headers) {
  let text
  try {
    text = readFileSync(join(headers, "node_version.h"), "utf8")
  } catch {
    return undefined
  }
  const part = (name) => new RegExp(`#define NODE_${name}_VERSION (\\d+)`).exec(text)?.[1]
  return [part("MAJOR"), part("MINOR"), part("PATCH")].join(".")
}

function markerOf(versionDir) {
  try {
    return Number.parseInt(readFileSync(join(versionDir, "installVersion"), "ascii"), 10) || 0
  } catch {
    return 0
  }
}

// mkdir -p, one level at a time: Node 20's recursive mkdirSync loops forever where a parent cannot be made
// (a HOME under /proc, say); a plain mkdirSync throws instead.
function makeFolders(path) {
  if (existsSync(path)) return
  makeFolders(dirname(path))
  mkdirSync(path)
}

// Writes through a temporary name and a rename, so a run cut short leaves no half-written file or link.
function replace(path, write) {
  const temporary = `${path}.${process.pid}.tmp`
  write(temporary)
  renameSync(temporary, path)
}

function main() {
  if (process.platform !== "linux") return "skipped: node-gyp's header cache is set up only on Linux"
  if (process.release.name !== "node") return `skipped: not Node.js but ${process.release.name}`
  const nodedir = npmSetting("nodedir")
  if (nodedir) return `skipped: npm_config_nodedir is set (${nodedir}), node-gyp builds against it`
  const version = process.versions.node
  const headers = join(dirname(dirname(process.execPath)), "include", "node")
  if (headersVersion(headers) !== version || !existsSync(join(headers, "common.gypi"))) {
    return `skipped: no headers of Node ${version} at ${headers}; node-gyp will download them if it has to`
  }
  // node-gyp's own choice of folder (env-paths on Linux): npm_config_devdir, else $XDG_CACHE_HOME/node-gyp.
  const devdir = npmSetting("devdir")?.replace(/^~/, homedir())
  const cacheRoot = devdir ?? join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "node-gyp")
  if (!isAbsolute(cacheRoot)) return `skipped: node-gyp's cache folder ${cacheRoot} is not an absolute path`
  const versionDir = join(cacheRoot, version)
  const link = join(versionDir, "include", "node")
  if (markerOf(versionDir) >= NODE_GYP_INSTALL_VERSION && existsSync(join(link, "common.gypi"))) {
    return `kept: ${versionDir} is already set up`
  }
  // Not usable as it is: node-gyp would download again (no marker, or an older one) or miss headers (a link
  // left by a Node since moved). A link, or nothing, is ours to write; a folder is node-gyp's own download.
  let existing
  try {
    existing = lstatSync(link)
  } catch {
    existing = undefined
  }
  if (existing && !existing.isSymbolicLink()) {
    return `left alone: ${link} is a folder (node-gyp's own download); node-gyp will download it again if it has to`
  }
  makeFolders(dirname(link))
  replace(link, (temporary) => symlinkSync(headers, temporary, "dir"))
  // The marker last: a run cut short before it leaves an entry the next run repairs.
  replace(join(versionDir, "installVersion"), (temporary) => writeFileSync(temporary, `${NODE_GYP_INSTALL_VERSION}\n`))
  return `wrote ${versionDir} (a link to ${headers}): node-gyp builds against this Node's own headers`
}

try {
  console.log(`[node-gyp headers] ${main()}`)
} catch (error) {
  // Never fail the install here: if the cache cannot be written, node-gyp reports its own error later.
  const reason = error instanceof Error ? error.message : String(error)
  console.log(`[node-gyp headers] could not set up node-gyp's header cache: ${reason}`)
}
