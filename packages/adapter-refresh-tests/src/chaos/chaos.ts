/**
 * `pnpm chaos`: kill worker processes at random while they refresh tokens against the real rotating
 * provider, and count what it cost (docs/design/lease-coordination.md 7.3). Bench-like: prints figures.
 *
 *   pnpm chaos                               lease mode, 4 workers, until 1,000 grants
 *   pnpm chaos --coordination=lock           today's lock mode
 *   pnpm chaos --coordination=lock,lease     both, one after the other, side by side
 *   pnpm chaos --short                       the CI form: 2 workers, ~200 grants, ~20 kills; exits 1 when a
 *                                            hard condition breaks (chaos-analysis.ts `violations`)
 * Options: --workers=N --grants=N --accounts=N --kill-mean-ms=N --max-run-s=N --request-timeout-ms=N
 * --lease-margin-ms=N.
 * Without --short the conditions are printed, and also make the exit status non-zero.
 */
import { cpus } from "node:os"
import { startPostgres } from "../harness/postgres.js"
import { violations, type Percentiles } from "./chaos-analysis.js"
import { runChaos, type ChaosOptions, type ChaosResult } from "./chaos-run.js"
import type { Coordination } from "./chaos-protocol.js"

const log = (line: string) => void process.stderr.write(`${line}\n`)

function parseArgs(argv: readonly string[]): { modes: Coordination[]; options: Omit<ChaosOptions, "coordination"> } {
  const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  const number = (name: string, fallback: number) => {
    const text = arg(name)
    if (text === undefined) return fallback
    const value = Number(text)
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, not "${text}"`)
    return value
  }
  const short = argv.includes("--short")
  const modes = (arg("coordination") ?? "lease").split(",").map((m) => m.trim())
  for (const mode of modes)
    if (mode !== "lock" && mode !== "lease") throw new Error(`--coordination takes lock, lease or both, not "${mode}"`)
  return {
    modes: modes as Coordination[],
    options: {
      workers: number("workers", short ? 2 : 4),
      accounts: number("accounts", 50),
      grants: number("grants", short ? 200 : 1_000),
      minKills: short ? 20 : 0,
      maxRunMs: number("max-run-s", short ? 45 : 900) * 1000,
      killMeanMs: number("kill-mean-ms", short ? 1_000 : 1_500),
      maxDelayMs: 300,
      // A short request bound keeps the lease (W + M + 2 s = 10 s) shorter than the default 17 s, so a kill
      // blocks an account less long; the margin M stays the library's default (5 s): on a loaded machine a
      // smaller one lets the write of an answer outlive its lease (design section 4, residual risk).
      requestTimeoutMs: number("request-timeout-ms", 3_000),
      leaseMarginMs: number("lease-margin-ms", 5_000),
      log,
    },
  }
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")
const pct = (p: Percentiles) => `${fmt(p.p50)} / ${fmt(p.p99)} / ${fmt(p.max)} ms (n ${p.n})`

/** One row per figure, one column per mode. */
export function formatResults(results: readonly ChaosResult[]): string[] {
  const rows: Array<[string, (r: ChaosResult) => string]> = [
    ["workers / accounts", (r) => `${r.options.workers} / ${r.options.accounts}`],
    ["run time", (r) => `${fmt(r.seconds)} s`],
    ["machine load before / after (1 min)", (r) => `${fmt(r.loadBefore[0]!, 2)} / ${fmt(r.loadAfter[0]!, 2)}`],
    ["refresh grants (provider)", (r) => String(r.grants)],
    ["refresh errors (provider)", (r) => String(r.refreshErrors)],
    ["getAccessToken calls / failed", (r) => `${r.report.calls} / ${failed(r)}`],
    ["kills", (r) => String(r.report.kills)],
    ...(["idle", "held, not sent", "in flight", "answered, not committed"] as const).map(
      (phase) =>
        [
          `kills: ${phase} (refreshes cut)`,
          (r: ChaosResult) => `${r.report.killsByPhase[phase]} (${r.report.flightsCutByPhase[phase]})`,
        ] as [string, (r: ChaosResult) => string],
    ),
    ["double sends by live holders", (r) => String(r.report.doubleSendsByLiveHolders)],
    ["sent again after a live holder's request failed", (r) => String(r.report.resentAfterFailedRequest)],
    ["reuse detections / grants revoked", (r) => `${r.report.reuseDetections} / ${r.report.grantsRevoked}`],
    ["accounts given a new grant (as a new sign-in)", (r) => String(r.revived)],
    ["grants lost / explained by a kill in the window", (r) => `${r.report.losses.length} / ${explained(r)}`],
    ["grants lost after a live holder's request failed", (r) => String(afterFailed(r))],
    ["losses per kill", (r) => fmt(r.report.losses.length / Math.max(1, r.report.kills), 3)],
    ["window committed - sent p50 / p99 / max", (r) => pct(r.report.windowSent)],
    ["window committed - answered p50 / p99 / max", (r) => pct(r.report.windowAnswered)],
    ["takeover after a kill p50 / p99 / max", (r) => pct(r.report.takeover)],
    ["  of those, killed before sending", (r) => pct(r.report.takeoverBeforeSend)],
    ["presented tokens not attributed", (r) => String(r.report.unattributed)],
    ["conditions", (r) => (violations(r.report).length ? "BROKEN" : "hold")],
  ]
  const header = `| figure | ${results.map((r) => r.options.coordination).join(" | ")} |`
  const rule = `|---|${results.map(() => "---:").join("|")}|`
  return [header, rule, ...rows.map(([label, cell]) => `| ${label} | ${results.map(cell).join(" | ")} |`)]
}

function failed(r: ChaosResult): string {
  const total = Object.values(r.report.failures).reduce((a, b) => a + b, 0)
  if (!total) return "0"
  const detail = Object.entries(r.report.failures)
    .map(([label, n]) => `${label} ${n}`)
    .join(", ")
  return `${total} (${detail})`
}

const afterFailed = (r: ChaosResult): number => r.report.losses.filter((l) => l.afterFailedRequest).length

function explained(r: ChaosResult): string {
  const phases = r.report.losses.flatMap((l) => (l.explainedBy ? [l.explainedBy.phase] : []))
  if (!phases.length) return "0"
  const inFlight = phases.filter((p) => p === "in flight").length
  return `${phases.length} (${inFlight} in flight, ${phases.length - inFlight} answered)`
}

async function main(): Promise<void> {
  const { modes, options } = parseArgs(process.argv.slice(2))
  const server = await startPostgres({ log })
  const results: ChaosResult[] = []
  try {
    for (const coordination of modes) {
      log(`[chaos] ${coordination} mode: ${options.workers} workers, until ${options.grants} grants ...`)
      results.push(await runChaos(server.url, { ...options, coordination }))
    }
  } finally {
    await server.stop()
  }
  const out = [
    `Chaos run: ${options.workers} workers, ${options.accounts} accounts (tokens live 2 s), provider delay ` +
      `0-${options.maxDelayMs} ms, SIGKILL every ~${options.killMeanMs} ms (exponential), requestTimeoutMs ` +
      `${options.requestTimeoutMs}, leaseMarginMs ${options.leaseMarginMs}; ${cpus().length} CPUs, ` +
      `node ${process.version}, PostgreSQL ${server.backend}`,
    "",
    ...formatResults(results),
  ]
  const broken = results.flatMap((r) => violations(r.report).map((v) => `${r.options.coordination}: ${v}`))
  for (const r of results)
    for (const loss of r.report.losses)
      out.push(
        `${r.options.coordination}: account ${loss.a} lost its grant` +
          (loss.explainedBy
            ? `, after kill of ${loss.explainedBy.pid} (${loss.explainedBy.phase}), ` +
              `reuse ${fmt(loss.explainedBy.msFromKillToReuse, 0)} ms later`
            : loss.afterFailedRequest
              ? ", after a live holder's request failed (timeout) and it released"
              : ", NOT explained by a kill"),
      )
  if (broken.length) out.push("", "FAILED:", ...broken.map((b) => `- ${b}`))
  process.stdout.write(`${out.join("\n")}\n`)
  if (broken.length) process.exitCode = 1
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
