/**
 * Sums CPU profiles (`.cpuprofile`, as node:inspector's Profiler writes them) by module and by function:
 * where a scale point's CPU went, in the worker processes and in the provider's. The scale section writes
 * them with AUTHJS_REFRESH_BENCH_CPU_PROF=<dir> (files `<point>-<worker index>.cpuprofile` and
 * `<point>-provider.cpuprofile`, plus `points.json`: per point the provider's grants and the CPU time
 * process.cpuUsage measured) and prints this summary; it also runs alone:
 *
 *   node --import tsx packages/adapter-refresh-tests/src/refresh-bench/cpu-profile-summary.ts <dir> [top]
 *
 * Self time per profile node is the sampling interval that followed each of its samples; "(idle)" is left
 * out. The profiler samples on the wall clock, so on a loaded machine a process that waits for a CPU still
 * collects samples (inside the system call it was in, often). So only each item's share is taken from the
 * profile, and it is scaled to the CPU time process.cpuUsage measured: "ms per grant" is share x CPU / grants.
 */
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
interface Profile {
  nodes: ProfileNode[]
  samples?: number[]
  timeDeltas?: number[]
}

/** The module a frame belongs to: a package, a file of this workspace, a Node internal, or V8's own bucket. */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)"
  if (url.startsWith("node:internal/deps/")) return url.split("/").slice(0, 3).join("/")
  if (url.startsWith("node:")) return url
  const path = url.startsWith("file://") ? fileURLToPath(url) : url
  const modules = path.lastIndexOf("/node_modules/")
  if (modules >= 0) {
    const [scope, name] = path.slice(modules + "/node_modules/".length).split("/")
    return scope!.startsWith("@") ? `${scope}/${name}` : scope!
  }
  const workspace = /\/packages\/([^/]+)\/(.*)$/.exec(path)
  if (workspace) return `${workspace[1]}/${workspace[2]}`
  return path.split("/").slice(-2).join("/")
}

/** Self time in ms per module and per function ("name module:line") of one profile. */
function selfTimes(profile: Profile): { modules: Map<string, number>; functions: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const modules = new Map<string, number>()
  const functions = new Map<string, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (const [i, id] of samples.entries()) {
    const node = byId.get(id)
    if (!node || node.callFrame.functionName === "(idle)") continue
    const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000
    const { functionName, url, lineNumber } = node.callFrame
    const module = moduleOf(url, functionName)
    modules.set(module, (modules.get(module) ?? 0) + ms)
    // tsx's output keeps no line numbers of the workspace's TypeScript: the function's name says enough there.
    const line = /\.[cm]?ts$/.test(url) ? "" : `:${lineNumber + 1}`
    const fn = url
      ? `${functionName || "(anonymous)"} ${module}${line}`
      : functionName.startsWith("(")
        ? functionName
        : `${functionName || "(anonymous)"} (native)`
    functions.set(fn, (functions.get(fn) ?? 0) + ms)
  }
  return { modules, functions }
}

const add = (into: Map<string, number>, from: Map<string, number>) => {
  for (const [key, ms] of from) into.set(key, (into.get(key) ?? 0) + ms)
}

/** What the scale section measured of one point, to scale the profiles' shares. */
export interface ProfiledPoint {
  grants: number
  /** process.cpuUsage of all the point's workers, and of the provider's process, in ms. */
  workerCpuMs: number
  providerCpuMs: number
}

/**
 * The summary lines for every profile in `dir`, grouped by point and by role (workers summed, provider): the
 * `top` modules and functions by self time, as a share and, when `points` knows the point, as CPU ms per grant.
 */
export async function summariseProfiles(
  dir: string,
  points: Record<string, ProfiledPoint> = {},
  top = 8,
): Promise<string[]> {
  const groups = new Map<string, { files: number; modules: Map<string, number>; functions: Map<string, number> }>()
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile")).sort()) {
    const match = /^(.*)-(provider|\d+)\.cpuprofile$/.exec(file)
    if (!match) continue
    const key = `${match[1]}\u0000${match[2] === "provider" ? "provider" : "workers"}`
    const group = groups.get(key) ?? { files: 0, modules: new Map(), functions: new Map() }
    const times = selfTimes(JSON.parse(await readFile(join(dir, file), "utf8")) as Profile)
    group.files++
    add(group.modules, times.modules)
    add(group.functions, times.functions)
    groups.set(key, group)
  }
  const out = [`CPU profiles (${dir}): self time by module and by function, sampled during each point`]
  for (const [key, group] of groups) {
    const [point, role] = key.split("\u0000") as [string, string]
    const total = [...group.modules.values()].reduce((a, b) => a + b, 0)
    const measured = points[point]
    const cpuMs = measured && (role === "workers" ? measured.workerCpuMs : measured.providerCpuMs)
    const perGrant = measured && cpuMs ? cpuMs / measured.grants : undefined
    const list = (map: Map<string, number>) =>
      [...map]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, ms]) => {
          const share = ms / total
          return `${name} ${(share * 100).toFixed(1)}%${perGrant ? ` ${(share * perGrant).toFixed(2)} ms/grant` : ""}`
        })
        .join("; ")
    out.push(
      `- ${point}, ${role === "workers" ? `${group.files} workers` : "provider process"}: ` +
        `${(total / 1000).toFixed(1)} s sampled` +
        (perGrant ? `; CPU ${(cpuMs! / 1000).toFixed(1)} s, ${perGrant.toFixed(2)} ms per grant` : ""),
    )
    out.push(`  modules: ${list(group.modules)}`)
    out.push(`  functions: ${list(group.functions)}`)
  }
  return out
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2]
  if (!dir) throw new Error("usage: cpu-profile-summary.ts <dir> [top]")
  const points = await readFile(join(dir, "points.json"), "utf8").then(
    (text) => JSON.parse(text) as Record<string, ProfiledPoint>,
    () => ({}),
  )
  process.stdout.write(`${(await summariseProfiles(dir, points, Number(process.argv[3] ?? 8))).join("\n")}\n`)
}
