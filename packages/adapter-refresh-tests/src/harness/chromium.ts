/**
 * A real browser for the example apps' tests: `playwright-core` driving the machine's Chromium (Debian's
 * `/usr/bin/chromium` by default), headless, with a fresh profile per launch.
 *
 * Not to be confused with `browser.ts`, the fetch-based cookie jar the e2e suites use. This one runs the
 * apps' real pages (scripts, redirects, forms) as a user's browser does. `npx playwright install` cannot
 * download a browser on these machines, so playwright-core is given the system binary.
 *
 * Every wait is bounded: launch, each action and navigation (Playwright's timeouts) and `close()`, which
 * kills the browser process if it does not exit in time and always removes the profile folder.
 */
import { mkdtemp, mkdir, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { chromium, type BrowserContext, type Page } from "playwright-core"

/** Environment variable that overrides the Chromium binary. */
export const CHROMIUM_PATH_ENV = "AUTHJS_REFRESH_CHROMIUM"
export const DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium"

/** The tests package's screenshot folder (git-ignored). */
export const DEFAULT_SCREENSHOT_DIR = fileURLToPath(new URL("../../screenshots/", import.meta.url))

/** Flags that let the system Chromium run headless as root in a container, without calling home. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-dev-shm-usage",
]

export interface LaunchChromiumOptions {
  /** The binary. Default `$AUTHJS_REFRESH_CHROMIUM`, else `/usr/bin/chromium`. */
  executablePath?: string
  /** Where `screenshot()` writes. Default the tests package's `screenshots/`. */
  screenshotDir?: string
  /** Bound on starting the browser. Default 60 s (the machine is shared and often loaded). */
  launchTimeoutMs?: number
  /** Bound on each action (click, fill, wait for a selector). Default 30 s. */
  actionTimeoutMs?: number
  /** Bound on each navigation. Default 60 s (a `next start` page compiles nothing, but the machine is slow). */
  navigationTimeoutMs?: number
  /** Bound on `close()` before the process is killed. Default 10 s. */
  closeTimeoutMs?: number
}

export interface LaunchedChromium {
  context: BrowserContext
  /** The first page of the context. */
  page: Page
  /** The binary that was launched and its version, for the test log. */
  executablePath: string
  version: string
  /** The fresh profile folder of this launch (removed by `close()`). */
  userDataDir: string
  /**
   * Saves a full-page PNG of `page` (default the first) as `<screenshotDir>/<name>.png` and returns its path.
   * `name` may contain `/` to group shots in sub-folders.
   */
  screenshot(name: string, page?: Page): Promise<string>
  /** Closes pages, the context and the browser (killed after `closeTimeoutMs`); removes the profile. Idempotent. */
  close(): Promise<void>
}

export class ChromiumLaunchError extends Error {
  override name = "ChromiumLaunchError"
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<LaunchedChromium> {
  const executablePath = options.executablePath ?? (process.env[CHROMIUM_PATH_ENV]?.trim() || DEFAULT_CHROMIUM_PATH)
  const screenshotDir = options.screenshotDir ?? DEFAULT_SCREENSHOT_DIR
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000
  // A fresh profile per launch: no cookie, cache or session survives from one test to the next.
  const userDataDir = await mkdtemp(path.join(tmpdir(), "authjs-refresh-chromium-"))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      // headless: true makes Playwright pass `--headless` itself (and drop any copy in `args`).
      headless: true,
      args: CHROMIUM_FLAGS.filter((flag) => flag !== "--headless"),
      timeout: options.launchTimeoutMs ?? 60_000,
      viewport: { width: 1100, height: 800 },
      // The test process decides when the browser ends; a signal to Jest still closes it.
      handleSIGINT: true,
      handleSIGTERM: true,
      handleSIGHUP: true,
    })
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true })
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error)
    throw new ChromiumLaunchError(
      `could not launch Chromium at ${executablePath} (install ` +
        `Debian's chromium, or set ${CHROMIUM_PATH_ENV}): ${reason}`,
    )
  }
  context.setDefaultTimeout(options.actionTimeoutMs ?? 30_000)
  context.setDefaultNavigationTimeout(options.navigationTimeoutMs ?? 60_000)
  const page = context.pages()[0] ?? (await context.newPage())
  const browser = context.browser()
  const version = browser?.version() ?? "unknown"

  let closed: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      try {
        await withTimeout(context.close(), closeTimeoutMs, "closing Chromium")
      } catch {
        // A browser that does not close in time is killed: it must never outlive the test.
        await withTimeout(browser?.close() ?? Promise.resolve(), closeTimeoutMs, "closing Chromium again").catch(
          () => {},
        )
      } finally {
        await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 })
      }
    })())

  return {
    context,
    page,
    executablePath,
    version,
    userDataDir,
    async screenshot(name, target = page) {
      const file = path.join(screenshotDir, `${name}.png`)
      await mkdir(path.dirname(file), { recursive: true })
      await target.screenshot({ path: file, fullPage: true })
      return file
    },
    close,
  }
}
