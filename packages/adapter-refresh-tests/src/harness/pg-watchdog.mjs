// Crash-safety watchdog for the PostgreSQL test harness (src/harness/postgres.ts).
//
//   node pg-watchdog.mjs '<json config>'
//
// Started detached by startPostgres(). It polls the process that started the server (the "parent", e.g.
// the Jest main process). When the parent is gone, including after a SIGKILL, it stops what the parent
// left behind and exits:
//   - embedded server: the postmaster named in <dataDir>/postmaster.pid (SIGQUIT, then SIGKILL), any other
//     process still running a binary from <baseDir>, then removes <baseDir>;
//   - a system server binary (mariadbd) named by <serverPidFile>, and every process whose command line names
//     <processMarker> (e.g. mariadb-install-db on our folder): SIGKILL, then removes <baseDir>;
//   - Docker: every container labelled authjs-refresh.session=<session>, removed with force (and volumes).
// When the parent stops the server itself it ends this watchdog with SIGTERM, which exits at once.
//
// Config: { parentPid: number, pollMs?: number, baseDir?: string, dataDir?: string,
//           docker?: { host: string, session: string }, serverPidFile?: string, processMarker?: string,
//           logFile?: string, cleanupNow?: boolean }
// cleanupNow: clean up at once and exit (the parent's start-up failed).
// Plain JavaScript with no dependencies on purpose: it must run with bare `node`, outside Jest.
import { execFile } from "node:child_process"
import fs from "node:fs"
import http from "node:http"
import path from "node:path"

const cfg = JSON.parse(process.argv[2] ?? "{}")
const parentPid = Number(cfg.parentPid)
if (!Number.isInteger(parentPid) || parentPid <= 1) {
  console.error("pg-watchdog: missing parentPid")
  process.exit(2)
}

function log(message) {
  if (!cfg.logFile) return
  try {
    fs.appendFileSync(cfg.logFile, `${new Date().toISOString()} pg-watchdog[${process.pid}] ${message}\n`)
  } catch {
    // nowhere to report
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Linux /proc/<pid>/stat fields after the command name: [state, ppid, ...]; undefined elsewhere. */
function procStat(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  } catch {
    return undefined
  }
}

function signalable(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === "EPERM"
  }
}

/** Alive and not a zombie; on Linux also the same process as when we started (start time unchanged). */
function alive(pid, startTime) {
  if (!signalable(pid)) return false
  const fields = procStat(pid)
  if (!fields) return process.platform !== "linux" // no /proc: trust kill(0)
  if (fields[0] === "Z" || fields[0] === "X") return false
  return startTime === undefined || fields[19] === startTime
}

const parentStart = procStat(parentPid)?.[19]

async function waitGone(pid, ms) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (!alive(pid)) return true
    await sleep(50)
  }
  return !alive(pid)
}

async function stopEmbedded() {
  if (cfg.dataDir) {
    let pid
    try {
      pid = Number(fs.readFileSync(path.join(cfg.dataDir, "postmaster.pid"), "utf8").split("\n")[0])
    } catch {
      pid = undefined
    }
    if (pid && alive(pid)) {
      let cmdline = ""
      try {
        cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")
      } catch {
        // not Linux: the pid file is all we have
      }
      if (cmdline === "" || cmdline.includes(cfg.dataDir)) {
        log(`stopping postmaster ${pid} (immediate shutdown)`)
        try {
          process.kill(pid, "SIGQUIT")
        } catch {
          // already gone
        }
        if (!(await waitGone(pid, 5000))) {
          log(`postmaster ${pid} still alive: SIGKILL`)
          try {
            process.kill(pid, "SIGKILL")
          } catch {
            // already gone
          }
          await waitGone(pid, 2000)
        }
      }
    }
  }
  if (cfg.serverPidFile) {
    // A system binary (Debian's mariadbd) serving our throwaway folder: its pid file names it; the command
    // line must still name our folder, so a reused pid is never signalled.
    let pid
    try {
      pid = Number(fs.readFileSync(cfg.serverPidFile, "utf8").trim())
    } catch {
      pid = undefined
    }
    let cmdline = ""
    try {
      if (pid) cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")
    } catch {
      // gone
    }
    if (pid && alive(pid) && (!cfg.processMarker || cmdline === "" || cmdline.includes(cfg.processMarker))) {
      log(`stopping server ${pid} (SIGKILL: a throwaway server needs no clean shutdown)`)
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // already gone
      }
      await waitGone(pid, 5000)
    }
  }
  if ((cfg.baseDir || cfg.processMarker) && process.platform === "linux") {
    // Anything else still executing a binary from our folder (initdb and its bootstrap backend, backends
    // of a killed postmaster): SIGTERM first so they release their shared memory, then SIGKILL.
    // With processMarker: also any process whose command line names it (mariadb-install-db and its
    // bootstrap server, which run system binaries on our folder). Watchdogs never match: their config
    // names the marker too, so every node process running this script is skipped.
    const prefix = cfg.baseDir ? (cfg.baseDir.endsWith("/") ? cfg.baseDir : `${cfg.baseDir}/`) : undefined
    const self = process.argv[1]
    const leftovers = () => {
      const pids = []
      for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
        try {
          let match = prefix !== undefined && fs.readlinkSync(`/proc/${entry}/exe`).startsWith(prefix)
          if (!match && cfg.processMarker) {
            const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")
            match = argv.some((arg) => arg.includes(cfg.processMarker)) && !argv.includes(self)
          }
          if (match && alive(Number(entry))) pids.push(Number(entry))
        } catch {
          // gone, or not ours to inspect
        }
      }
      return pids
    }
    for (const [signal, waitMs] of [
      ["SIGTERM", 2000],
      ["SIGKILL", 1000],
    ]) {
      const pids = leftovers()
      if (pids.length === 0) break
      log(`${signal} to leftover processes ${pids.join(", ")}`)
      for (const pid of pids) {
        try {
          process.kill(pid, signal)
        } catch {
          // already gone
        }
      }
      const until = Date.now() + waitMs
      while (Date.now() < until && leftovers().length > 0) await sleep(50)
    }
  }
}

function dockerRequest(host, method, requestPath) {
  return new Promise((resolve, reject) => {
    const target = new URL(host)
    const options =
      target.protocol === "unix:"
        ? { socketPath: target.pathname, path: requestPath, method }
        : { host: target.hostname, port: Number(target.port || 2375), path: requestPath, method }
    const req = http.request({ ...options, timeout: 10_000 }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk) => (body += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", reject)
    req.end()
  })
}

function dockerCli(args) {
  return new Promise((resolve) => {
    execFile("docker", args, { timeout: 20_000 }, (error, stdout) => resolve(error ? undefined : stdout))
  })
}

async function removeContainers() {
  if (!cfg.docker) return
  const { host, session } = cfg.docker
  const filters = encodeURIComponent(JSON.stringify({ label: [`authjs-refresh.session=${session}`] }))
  try {
    if (!/^(unix|tcp|http):/.test(host)) throw new Error(`unsupported DOCKER_HOST ${host}`)
    const list = await dockerRequest(host, "GET", `/containers/json?all=1&filters=${filters}`)
    if (list.status !== 200) throw new Error(`list containers: HTTP ${list.status}`)
    for (const container of JSON.parse(list.body)) {
      const res = await dockerRequest(host, "DELETE", `/containers/${container.Id}?force=1&v=1`)
      log(`removed container ${container.Id}: HTTP ${res.status}`)
    }
  } catch (error) {
    log(`Docker API failed (${error.message}); trying the docker CLI`)
    const ids = (await dockerCli(["ps", "-aq", "--filter", `label=authjs-refresh.session=${session}`])) ?? ""
    for (const id of ids.split(/\s+/).filter(Boolean)) {
      await dockerCli(["rm", "-f", "-v", id])
      log(`removed container ${id} with the docker CLI`)
    }
  }
}

async function cleanup() {
  log(cfg.cleanupNow ? "cleaning up now" : `parent ${parentPid} is gone: cleaning up`)
  await Promise.allSettled([stopEmbedded(), removeContainers()])
  if (cfg.baseDir) fs.rmSync(cfg.baseDir, { recursive: true, force: true })
  log("done")
}

// The parent ends us with SIGTERM once it has cleaned up itself. Terminal signals are ignored: we are
// detached, and an interrupted parent is exactly what we wait for.
process.on("SIGTERM", () => process.exit(0))
process.on("SIGINT", () => {})
process.on("SIGHUP", () => {})

if (cfg.cleanupNow) {
  // Start-up failed in the parent: clean up right away, same code path as after a crash.
  await cleanup().catch((error) => log(`cleanup failed: ${error?.stack ?? error}`))
  process.exit(0)
}

log(`watching parent ${parentPid}`)
const timer = setInterval(
  () => {
    if (alive(parentPid, parentStart)) return
    clearInterval(timer)
    cleanup()
      .catch((error) => log(`cleanup failed: ${error?.stack ?? error}`))
      .finally(() => process.exit(0))
  },
  Number(cfg.pollMs) || 250,
)
