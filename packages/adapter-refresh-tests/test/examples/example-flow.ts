/**
 * Shared steps of the example apps' browser tests: start an example's real server as a child process (the
 * command a user runs, on the built `dist` of the library), sign in and out through the real pages in
 * Chromium, read what the database stores. Every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { createServer } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import type { Page } from "playwright-core"

import { launchChromium, type LaunchedChromium } from "../../src/harness/chromium.js"
import { applySchema } from "../../src/harness/example-services.js"
import { startOidcProvider, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import { startRewritingProxy } from "../../src/harness/rewriting-proxy.js"

export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url))
export const exampleDir = (name: string): string => path.join(REPO_ROOT, "examples", name)

/** The examples import the library as users do, from its built `dist`. */
export function assertLibraryBuilt(): void {
  const dist = path.join(REPO_ROOT, "packages", "adapter-refresh", "dist", "index.js")
  if (!existsSync(dist)) {
    throw new Error(
      `${dist} is missing: the examples run the built library. Run \`pnpm build\` (pnpm test:browser does).`,
    )
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
}

export interface ExampleServer {
  origin: string
  /** Milliseconds from spawn until the home page answered 200. */
  startupMs: number
  /** Everything the server printed (for failure messages). */
  output(): string
  stop(): Promise<void>
}

export interface StartExampleServerOptions {
  cwd: string
  command: string
  args: string[]
  port: number
  env: Record<string, string>
  /** Bound on the start-up. Default 120 s (the machine is shared). */
  timeoutMs?: number
}

/** Environment of the test process minus what would change how the example runs (Jest's, Next's, Auth.js's). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (/^(NODE_OPTIONS|JEST_|AUTH_|NEXTAUTH_|NEXT_|DATABASE_URL$|OIDC_|TOKEN_)/.test(name)) continue
    env[name] = value
  }
  env.NODE_ENV = "production"
  return env
}

export async function startExampleServer(options: StartExampleServerOptions): Promise<ExampleServer> {
  const origin = `http://127.0.0.1:${options.port}`
  const started = performance.now()
  let output = ""
  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...baseEnv(), ...options.env, PORT: String(options.port) },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so stop() ends the server and anything it started (npm/pnpm shims, next).
    detached: true,
  })
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
  let exited = false
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true
      resolve()
    }),
  )

  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (exited || child.pid === undefined) return
      const signal = (name: NodeJS.Signals): void => {
        try {
          process.kill(-child.pid!, name)
        } catch {
          // already gone
        }
      }
      signal("SIGTERM")
      const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 10_000).unref())
      if ((await Promise.race([exit.then(() => "exit" as const), timer])) === "timeout") {
        signal("SIGKILL")
        await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 5_000).unref())])
      }
    })())

  const deadline = Date.now() + (options.timeoutMs ?? 120_000)
  for (;;) {
    if (exited) throw new Error(`the example server exited during start-up:\n${output.slice(-3000)}`)
    if (Date.now() > deadline) {
      await stop()
      throw new Error(
        `the example server did not answer within ${options.timeoutMs ?? 120_000} ms:\n${output.slice(-3000)}`,
      )
    }
    try {
      const response = await fetch(`${origin}/`, { signal: AbortSignal.timeout(5_000), redirect: "manual" })
      if (response.status === 200) break
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return { origin, startupMs: Math.round(performance.now() - started), output: () => output, stop }
}

/**
 * Signs in from the app's sign-in page through the provider's real login and consent forms, and waits
 * until the browser is back on the app's home page. `signInPath` is Auth.js's sign-in page.
 */
export async function signInThroughProvider(
  page: Page,
  origin: string,
  options: { signInPath: string; login: string },
): Promise<{ loginFormShown: boolean }> {
  await page.goto(`${origin}${options.signInPath}`)
  await page.locator("button", { hasText: "Sign in with" }).first().click()
  let loginFormShown = false
  for (let step = 0; step < 6; step++) {
    await page.waitForLoadState("load")
    const url = new URL(page.url())
    if (url.origin === origin) break
    if (await page.locator("input[name=login]").count()) {
      loginFormShown = true
      await page.fill("input[name=login]", options.login)
      await page.fill("input[name=password]", "any-password")
      await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")])
      continue
    }
    if (await page.locator("input[name=prompt][value=consent]").count()) {
      await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")])
      continue
    }
    throw new Error(`unexpected page during sign-in: ${page.url()}\n${(await page.content()).slice(0, 1500)}`)
  }
  await page.waitForURL((url) => url.origin === origin && !url.pathname.includes("/callback/"), { timeout: 60_000 })
  await page.waitForSelector("#user")
  return { loginFormShown }
}

/** Signs out through Auth.js's sign-out page (its confirmation form) and waits for the signed-out home page. */
export async function signOut(page: Page, origin: string, signOutPath: string): Promise<void> {
  await page.goto(`${origin}${signOutPath}`)
  await Promise.all([page.waitForNavigation(), page.locator("button", { hasText: "Sign out" }).first().click()])
  await page.goto(`${origin}/`)
  await page.waitForSelector("#signed-out")
}

/** Waits (bounded) until the wall clock is past `expiresAt` (epoch seconds) plus a margin. */
export async function waitUntilExpired(expiresAt: number, marginSeconds = 1, boundMs = 120_000): Promise<void> {
  const waitMs = expiresAt * 1000 + marginSeconds * 1000 - Date.now()
  if (waitMs > boundMs) throw new Error(`the token expires in ${waitMs} ms, beyond the test's bound of ${boundMs} ms`)
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
}

/** What a browser test reads back from the example's database. */
export interface StoredTokens {
  access_token: string | null
  refresh_token: string | null
  expires_at: string | number | null
}

export interface ExampleRun {
  provider: TestOidcProvider
  database: TestDatabase
  server: ExampleServer
  browser: LaunchedChromium
  /** The account rows' tokens, in insertion order. */
  stored(): Promise<StoredTokens[]>
  stop(): Promise<void>
}

export interface StartExampleRunOptions {
  /** Folder name under examples/. */
  example: string
  /** The example's schema SQL, relative to its folder. */
  schemaFile: string
  /** The provider callback path of the app, e.g. `/auth/callback/oidc`. */
  callbackPath: string
  /** The server command, run in the example's folder; gets PORT in its environment. */
  command: string
  args: (port: number) => string[]
  /** false: TOKEN_SYNC=off, the control run with the bare adapter. */
  tokenSync: boolean
  accessTokenTtl: number
  /** SELECT of access_token, refresh_token, expires_at from the example's account table. */
  storedQuery: string
  /** Extra environment of the server (e.g. NEXTAUTH_URL, which gets `{origin}` replaced). */
  env?: Record<string, string>
  /**
   * The host the browser uses (the server listens on 127.0.0.1 either way). Default `127.0.0.1`.
   * next-auth 5 needs `localhost`: Next.js reports a 127.x host as "localhost" in the request URL that
   * next-auth 5 builds its form actions from, so on 127.0.0.1 they post to another cookie origin (MissingCSRF).
   */
  originHost?: "127.0.0.1" | "localhost"
  /**
   * Puts a proxy in front of the provider's token endpoint that holds each answer back this long (the
   * provider has already processed the grant), and gives the app its URL as OIDC_TOKEN_URL: a provider as
   * slow as real ones, so that parallel calls overlap one refresh. Default: no proxy.
   */
  tokenEndpointDelayMs?: number
}

/** The real provider and a fresh database for this test, the example's real server on them, and Chromium. */
export async function startExampleRun(options: StartExampleRunOptions): Promise<ExampleRun> {
  assertLibraryBuilt()
  const dir = exampleDir(options.example)
  const port = await freePort()
  const origin = `http://${options.originHost ?? "127.0.0.1"}:${port}`
  const provider = await startOidcProvider({
    clientId: "example-app",
    accessTokenTtl: options.accessTokenTtl,
    rotateRefreshToken: true,
    redirectUris: [`${origin}${options.callbackPath}`],
  })
  const stops: Array<() => Promise<void>> = [() => provider.stop()]
  const stopAll = async (): Promise<void> => {
    for (const fn of stops) await fn().catch(() => {})
  }
  try {
    const database = await testDatabase(`${options.example}_${options.tokenSync ? "sync" : "control"}`)
    stops.push(() => database.drop())
    await applySchema(database.url, await readFile(path.join(dir, options.schemaFile), "utf8"))
    const extraEnv = Object.fromEntries(
      Object.entries(options.env ?? {}).map(([name, value]) => [name, value.replace("{origin}", origin)]),
    )
    if (options.tokenEndpointDelayMs !== undefined) {
      const proxy = await startRewritingProxy(provider.endpoints.token)
      stops.push(() => proxy.stop())
      proxy.delayMs = options.tokenEndpointDelayMs
      extraEnv.OIDC_TOKEN_URL = proxy.url
    }
    const server = await startExampleServer({
      cwd: dir,
      command: options.command,
      args: options.args(port),
      port,
      env: {
        DATABASE_URL: database.url,
        OIDC_ISSUER: provider.issuer,
        OIDC_CLIENT_ID: provider.clientId,
        OIDC_CLIENT_SECRET: provider.clientSecret,
        AUTH_SECRET: "example-browser-test-secret-0123456789abcdef",
        TOKEN_REFRESH_SKEW_SECONDS: "2",
        TOKEN_SYNC: options.tokenSync ? "on" : "off",
        ...extraEnv,
      },
    })
    stops.unshift(() => server.stop())
    console.log(
      `[${options.example}${options.tokenSync ? "" : ", control"}] server answered ${server.startupMs} ms after spawn`,
    )
    const browser = await launchChromium()
    stops.unshift(() => browser.close())
    const stored = async (): Promise<StoredTokens[]> => {
      const client = new pg.Client({ connectionString: database.url })
      await client.connect()
      try {
        return (await client.query<StoredTokens>(options.storedQuery)).rows
      } finally {
        await client.end()
      }
    }
    return { provider, database, server: { ...server, origin }, browser, stored, stop: stopAll }
  } catch (error) {
    await stopAll()
    throw error
  }
}

/** Sign in through the provider's login form, sign out, sign in again (screenshots of both signed-in pages). */
export async function signInTwice(
  run: ExampleRun,
  paths: { signIn: string; signOut: string },
  shots: string,
): Promise<{ firstLoginFormShown: boolean }> {
  const { page } = run.browser
  const first = await signInThroughProvider(page, run.server.origin, { signInPath: paths.signIn, login: "alice" })
  await run.browser.screenshot(`${shots}/1-signed-in`)
  await signOut(page, run.server.origin, paths.signOut)
  await signInThroughProvider(page, run.server.origin, { signInPath: paths.signIn, login: "alice" })
  await run.browser.screenshot(`${shots}/2-signed-in-again`)
  return { firstLoginFormShown: first.loginFormShown }
}

/**
 * Runs an example's cached build script (`node scripts/build.mjs`: library dist, Prisma client, `next build`,
 * skipped when the inputs' hash matches the last build) and returns how long it took.
 */
export function buildExample(example: string, timeoutMs = 20 * 60_000): { ms: number; output: string } {
  const started = performance.now()
  const result = spawnSync(process.execPath, ["scripts/build.mjs"], {
    cwd: exampleDir(example),
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, NODE_OPTIONS: "", NEXT_TELEMETRY_DISABLED: "1" },
  })
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`
  if (result.status !== 0)
    throw new Error(
      `building examples/${example} failed ` +
        `(${result.error?.message ?? `exit ${result.status}`}):\n${output.slice(-4000)}`,
    )
  return { ms: Math.round(performance.now() - started), output }
}
