/**
 * Where the time of Better Auth's `auth.api.getAccessToken` goes on the fresh path, stage by stage, in the
 * `better-auth` section of `pnpm bench`: each stage is a call of its own through the same Better Auth instance
 * (a probe plugin adds endpoints that stop after one stage), timed interleaved with a raw SELECT of the row,
 * so each stage's cost is the difference of two medians of the same run.
 *
 * With AUTHJS_REFRESH_BENCH_CPU_PROF=<dir>, the plugin's uncached call is also profiled (node:inspector) and
 * the profile summed by function, inclusive (a function's time with everything it called), and written to
 * `<dir>/better-auth-plugin.cpuprofile`.
 */
import { writeFile } from "node:fs/promises"
import { Session } from "node:inspector/promises"
import { join } from "node:path"
import { betterAuth, type BetterAuthPlugin, type StandardSchemaV1 } from "better-auth"
import { createAuthEndpoint, getSessionFromCtx } from "better-auth/api"
import { moduleOf } from "./cpu-profile-summary.js"
import { betterAuthOptions, type BetterAuthAccount, type BetterAuthApp } from "./better-auth-app.js"
import { interleavedMedians } from "./timing.js"
import type { RefreshScenario } from "./scenario.js"

const fmt = (n: number, digits = 3) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")

/** Any JSON body, as it came (what the probes take: their cost is Better Auth's, not a validator's). */
const anyBody: StandardSchemaV1<Record<string, unknown>> = {
  "~standard": { version: 1, vendor: "bench", validate: (value) => ({ value: value as Record<string, unknown> }) },
}

/** Endpoints that stop after one stage of getAccessToken's fresh path; `statement` sends the plugin's SELECT. */
const probesOf = (statement: () => Promise<unknown>) => ({
  id: "bench-probe",
  endpoints: {
    /** Better Auth's endpoint pipeline alone: toAuthEndpoints, the dispatch, better-call's context, the body. */
    probeNothing: createAuthEndpoint("/bench-probe/nothing", { method: "POST", body: anyBody }, async (ctx) =>
      ctx.json({}),
    ),
    /** The pipeline and the session lookup that getAccessToken makes first (no headers: none is found). */
    probeSession: createAuthEndpoint("/bench-probe/session", { method: "POST", body: anyBody }, async (ctx) => {
      const session = await getSessionFromCtx(ctx)
      return ctx.json({ session: session !== null })
    }),
    /** The pipeline and the plugin's statement, sent inside it (Better Auth's async context is active then). */
    probeStatement: createAuthEndpoint("/bench-probe/statement", { method: "POST", body: anyBody }, async (ctx) => {
      await statement()
      return ctx.json({})
    }),
  },
})

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples?: number[]
  timeDeltas?: number[]
}

/** ms per call of each function (inclusive) and of each module (self), over `calls` calls. */
function summarise(profile: Profile, calls: number, top: number): string[] {
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const name = (node: ProfileNode) => {
    const { functionName, url } = node.callFrame
    return `${functionName || "(anonymous)"} ${moduleOf(url, functionName)}`
  }
  const inclusive = new Map<string, number>()
  const self = new Map<string, number>()
  let total = 0
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (const [i, id] of samples.entries()) {
    const leaf = byId.get(id)
    if (!leaf || leaf.callFrame.functionName === "(idle)") continue
    const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000
    total += ms
    const module = moduleOf(leaf.callFrame.url, leaf.callFrame.functionName)
    self.set(module, (self.get(module) ?? 0) + ms)
    // Each function once per sample, however deep it recurses.
    const seen = new Set<string>()
    for (let node: ProfileNode | undefined = leaf; node; node = byId.get(parent.get(node.id) ?? -1)) {
      const key = name(node)
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms)
    }
  }
  const list = (map: Map<string, number>) =>
    [...map]
      .filter(([key]) => !key.startsWith("(root)") && !key.startsWith("(program)"))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, ms]) => `${key} ${fmt(ms / calls)} ms`)
  return [
    `CPU profile of ${calls} uncached plugin calls: ${fmt(total / calls)} ms sampled per call (wall-clock sampling)`,
    `- inclusive, per call: ${list(inclusive).join("; ")}`,
    `- self by module, per call: ${list(self).join("; ")}`,
  ]
}

/**
 * The stage table: medians of each stage and of the whole calls, interleaved with the raw SELECTs.
 * `plugged` is the app with the plugin (its settings are reused for the probe instance).
 */
export async function freshPathStages(
  s: RefreshScenario,
  plugged: { app: BetterAuthApp; account: BetterAuthAccount },
  plain: { app: BetterAuthApp; account: BetterAuthAccount },
  cached: { app: BetterAuthApp; account: BetterAuthAccount },
): Promise<string[]> {
  const pool = s.fixture.pool
  const options = betterAuthOptions(pool, s.provider, plugged.app.settings)
  const probes = probesOf(() => byId())
  const probe = betterAuth({ ...options, plugins: [...options.plugins, probes satisfies BetterAuthPlugin] })
  const context = await probe.$context
  const { accountId, userId } = plugged.account
  const body = { accountId, userId }
  const rows = [
    { name: "raw SELECT of the row by userId (Better Auth's statement)", call: () => bySelect() },
    { name: "raw SELECT by id and userId (the plugin's statement)", call: () => byId() },
    { name: "auth.api: an endpoint that does nothing (pipeline, body)", call: () => probe.api.probeNothing({ body }) },
    { name: "auth.api: the session lookup only (no headers)", call: () => probe.api.probeSession({ body }) },
    {
      name: "auth.api: the plugin's statement only (pipeline + SELECT)",
      call: () => probe.api.probeStatement({ body }),
    },
    {
      name: "internalAdapter.findAccounts(userId), no endpoint",
      call: () => context.internalAdapter.findAccounts(userId),
    },
    {
      name: "Better Auth 1.7: auth.api.getAccessToken",
      call: () => plain.app.auth.api.getAccessToken({ body: plain.account }),
    },
    { name: "with the plugin: auth.api.getAccessToken", call: () => probe.api.getAccessToken({ body }) },
    {
      name: "with the plugin and refresh.cache: auth.api.getAccessToken",
      call: () => cached.app.auth.api.getAccessToken({ body: cached.account }),
    },
  ] as const
  const selectText = `SELECT * FROM "account" WHERE "userId" = $1`
  const byIdText =
    `SELECT "id", "userId", "providerId", "accountId", "accessToken", "accessTokenExpiresAt", ` +
    `"refreshTokenExpiresAt", "idToken", "scope" FROM "account" WHERE "id" = $1 AND "userId" = $2`
  const bySelect = () => pool.query(selectText, [userId])
  const byId = () => pool.query(byIdText, [accountId, userId])
  const medians = await interleavedMedians(2000, 200, rows)
  const base = medians[0]
  const [, idSelect, nothing, session, statementOnly, findAccounts, plainCall, pluginCall, cachedCall] = medians
  const out = [
    "Fresh path by stage (same run, 2000 interleaved rounds after 200 warm-up; medians; a stage's cost is the " +
      "difference of two rows)",
    "| call | median | ratio to the raw SELECT by userId |",
    "|------|-------:|----------------------------------:|",
    ...rows.map(({ name }, k) => `| ${name} | ${fmt(medians[k]!)} ms | ${fmt(medians[k]! / base, 2)}x |`),
    "",
    `- Better Auth's endpoint pipeline alone: ${fmt(nothing)} ms (${fmt(nothing / base, 2)}x the SELECT); ` +
      `the session lookup without headers adds ${fmt(session - nothing)} ms; findAccounts costs ` +
      `${fmt(findAccounts - base)} ms above its SELECT.`,
    `- So a call through auth.api costs at least the pipeline plus one SELECT: ` +
      `${fmt((nothing + idSelect) / base, 2)}x apart, ${fmt(statementOnly / base, 2)}x with the SELECT sent ` +
      `inside the endpoint; the plugin's call is ${fmt(pluginCall / base, 2)}x (its own work above that: ` +
      `${fmt(pluginCall - statementOnly)} ms), Better Auth's ${fmt(plainCall / base, 2)}x, ` +
      `the cached plugin's ${fmt(cachedCall / base, 2)}x.`,
  ]
  const dir = process.env.AUTHJS_REFRESH_BENCH_CPU_PROF
  if (dir) {
    const inspector = new Session()
    inspector.connect()
    try {
      await inspector.post("Profiler.enable")
      await inspector.post("Profiler.setSamplingInterval", { interval: 100 })
      await inspector.post("Profiler.start")
      const calls = 3000
      for (let i = 0; i < calls; i++) await probe.api.getAccessToken({ body })
      const { profile } = await inspector.post("Profiler.stop")
      await writeFile(join(dir, "better-auth-plugin.cpuprofile"), JSON.stringify(profile))
      out.push("", ...summarise(profile as Profile, calls, 14))
    } finally {
      inspector.disconnect()
    }
  }
  return out
}
