/** The harness browser on its own: redirects, method changes, cookies at every hop, forms. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"

import { Browser, parseForms } from "../../src/harness/browser.js"

let server: Server
let base: string
const seen: Array<{ method: string; path: string; cookie: string | undefined; body: string }> = []

async function body(req: IncomingMessage): Promise<string> {
  let text = ""
  for await (const chunk of req) text += String(chunk)
  return text
}

beforeAll(async () => {
  const respond = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", base)
    seen.push({ method: req.method ?? "", path: url.pathname, cookie: req.headers.cookie, body: await body(req) })
    const status = Number(url.searchParams.get("status") ?? 0)
    switch (url.pathname) {
      case "/redirect":
        res.writeHead(status, { location: "/landing", "set-cookie": [`hop${status}=1; Path=/`] }).end()
        return
      case "/chain":
        res
          .writeHead(302, { location: `${base}/redirect?status=303`, "set-cookie": "chain=yes; Path=/; HttpOnly" })
          .end()
        return
      case "/loop":
        res.writeHead(302, { location: "/loop" }).end()
        return
      default:
        res.writeHead(200, { "content-type": "text/plain" }).end(`${req.method} ${url.pathname}`)
    }
  }
  // A request that fails (its client went away) ends its socket instead of rejecting unheard.
  server = createServer((req, res) => void respond(req, res).catch(() => res.destroy()))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

describe("Browser", () => {
  test.each([
    [301, "GET"],
    [302, "GET"],
    [303, "GET"],
    [307, "POST"],
    [308, "POST"],
  ])("POST answered with %i is followed with %s", async (status, method) => {
    const browser = new Browser()
    seen.length = 0
    const page = await browser.post(`${base}/redirect?status=${status}`, { a: "1" })
    expect(page.body).toBe(`${method} /landing`)
    expect(page.url).toBe(`${base}/landing`)
    expect(page.hops.map((h) => h.status)).toEqual([status, 200])
    expect(seen[1]).toMatchObject({ method, body: method === "POST" ? "a=1" : "", cookie: `hop${status}=1` })
  })

  test("cookies set at every hop are sent on the next ones", async () => {
    const browser = new Browser()
    seen.length = 0
    const page = await browser.get(`${base}/chain`)
    expect(page.status).toBe(200)
    expect(seen.map((s) => s.cookie)).toEqual([undefined, "chain=yes", "chain=yes; hop303=1"])
    expect((await browser.cookies(base)).map((c) => [c.name, c.httpOnly])).toEqual([
      ["chain", true],
      ["hop303", false],
    ])
  })

  test("followRedirects: false returns the redirect itself", async () => {
    const page = await new Browser().get(`${base}/chain`, { followRedirects: false })
    expect(page.status).toBe(302)
    expect(page.hops[0]?.location).toBe(`${base}/redirect?status=303`)
  })

  test("redirect loops stop after maxRedirects", async () => {
    await expect(new Browser({ maxRedirects: 3 }).get(`${base}/loop`)).rejects.toThrow(/Too many redirects/)
  })
})

describe("parseForms", () => {
  test("reads action, method and inputs, resolving relative actions and decoding entities", () => {
    const html = `
      <form autocomplete="off" action="/interaction/abc?x=1&amp;y=2" method="post">
        <input type="hidden" name="prompt" value="login"/>
        <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
        <input type='checkbox' name='remember' value='yes' checked>
        <input type="checkbox" name="unchecked" value="no">
        <input type="submit" name="go" value="Go">
        <button type="submit">Sign-in</button>
      </form>
      <form action="https://elsewhere.test/search"><input name=q value=hello></form>`
    const forms = parseForms(html, "http://127.0.0.1:1234/auth/start")
    expect(forms).toHaveLength(2)
    expect(forms[0]).toMatchObject({
      action: "http://127.0.0.1:1234/interaction/abc?x=1&y=2",
      method: "POST",
      fields: { prompt: "login", login: "", remember: "yes" },
    })
    expect(forms[1]).toMatchObject({ action: "https://elsewhere.test/search", method: "GET", fields: { q: "hello" } })
  })
})
