/**
 * The real-browser launcher on its own: Debian's Chromium through playwright-core, a form, a cookie, a screenshot, a
 * clean close.
 */
import { existsSync } from "node:fs"
import { readFile, rm } from "node:fs/promises"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { tmpdir } from "node:os"
import * as path from "node:path"

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"

import { ChromiumLaunchError, launchChromium } from "../../src/harness/chromium.js"
import { listenOnLoopback } from "../../src/harness/loopback-server.js"

let server: Server
let stopServer: () => Promise<void>
let base: string
const screenshotDir = path.join(tmpdir(), `authjs-refresh-chromium-test-${process.pid}`)

beforeAll(async () => {
  const respond = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "POST") {
      let body = ""
      for await (const chunk of req) body += String(chunk)
      const login = new URLSearchParams(body).get("login") ?? ""
      res
        .writeHead(303, { location: "/done", "set-cookie": `who=${encodeURIComponent(login)}; Path=/; HttpOnly` })
        .end()
      return
    }
    if (req.url === "/done") {
      res.writeHead(200, { "content-type": "text/html" }).end(`<p id="cookie">${req.headers.cookie ?? ""}</p>`)
      return
    }
    // The page builds its form with a script, so only a browser that runs JavaScript can submit it.
    res
      .writeHead(200, { "content-type": "text/html" })
      .end(
        `<!DOCTYPE html><body><script>document.body.innerHTML = '<form ` +
          `method="post"><input name="login"><button>Go</button></form>'</script></body>`,
      )
  }
  // A request that fails (its client went away) ends its socket instead of rejecting unheard.
  server = createServer((req, res) => void respond(req, res).catch(() => res.destroy()))
  const started = await listenOnLoopback(server)
  stopServer = started.stop
  base = `http://127.0.0.1:${started.port}`
})

afterAll(async () => {
  await stopServer()
  await rm(screenshotDir, { recursive: true, force: true })
})

describe("launchChromium", () => {
  test("runs a page's script, submits its form, keeps the HttpOnly cookie, saves a PNG and closes everything", async () => {
    const chromium = await launchChromium({ screenshotDir })
    try {
      expect(chromium.version).toMatch(/^\d+\./)
      expect(existsSync(chromium.userDataDir)).toBe(true)
      await chromium.page.goto(base)
      await chromium.page.fill("input[name=login]", "alice")
      await chromium.page.click("button")
      await chromium.page.waitForURL(`${base}/done`)
      expect(await chromium.page.textContent("#cookie")).toBe("who=alice")
      const file = await chromium.screenshot("launcher/done")
      expect(file).toBe(path.join(screenshotDir, "launcher", "done.png"))
      const png = await readFile(file)
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    } finally {
      await chromium.close()
    }
    expect(chromium.context.browser()?.isConnected() ?? false).toBe(false)
    expect(existsSync(chromium.userDataDir)).toBe(false)
    await chromium.close() // idempotent
  }, 120_000)

  test("two launches get separate fresh profiles: no cookie crosses", async () => {
    const first = await launchChromium({ screenshotDir })
    try {
      await first.page.goto(base)
      await first.page.fill("input[name=login]", "bob")
      await first.page.click("button")
      await first.page.waitForURL(`${base}/done`)
    } finally {
      await first.close()
    }
    const second = await launchChromium({ screenshotDir })
    try {
      expect(second.userDataDir).not.toBe(first.userDataDir)
      expect(await second.context.cookies(base)).toEqual([])
    } finally {
      await second.close()
    }
  }, 120_000)

  test("a missing binary is a ChromiumLaunchError naming it, within the launch bound", async () => {
    const started = Date.now()
    const launch = launchChromium({ executablePath: "/nonexistent/chromium", launchTimeoutMs: 10_000 })
    await expect(launch).rejects.toThrow(ChromiumLaunchError)
    await expect(launch).rejects.toThrow("/nonexistent/chromium")
    expect(Date.now() - started).toBeLessThan(15_000)
  }, 30_000)
})
