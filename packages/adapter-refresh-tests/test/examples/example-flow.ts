/**
 * Shared steps of the example apps' browser tests: start an example's real server as a child process (the
 * command a user runs, on the built `dist` of the library), sign in and out through the real pages in
 * Chromium, read what the database stores. Every wait is bounded.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import { createServer } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Page } from "playwright-core"

export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url))
export const exampleDir = (name: string): string => path.join(REPO_ROOT, "examples", name)

/** The examples import the library as users do, from its built `dist`. */
export function assertLibraryBuilt(): void {
  const dist = path.join(REPO_ROOT, "packages", "adapter-refresh", "dist", "index.js")
  if (!existsSync(dist)) {
    throw new Error(`${dist} is missing: the examples run the built library. Run \`pnpm build\` (pnpm test:browser does).`)
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
      throw new Error(`the example server did not answer within ${options.timeoutMs ?? 120_000} ms:\n${output.slice(-3000)}`)
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
export async function signInThroughProvider(page: Page, origin: string, options: { signInPath: string; login: string }): Promise<{ loginFormShown: boolean }> {
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
