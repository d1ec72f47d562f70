/**
 * The refresh grant's transport against a real loopback HTTP server: what it sends, what it keeps of `fetch`'s
 * behaviour (errors, redirects, a body cut off), and the byte bound on a decoded body.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { gzipSync } from "node:zlib"
import { readBoundedText } from "../../src/refresh/bounded-body.js"
import { boundedFetch, decoded, receivedText } from "../../src/refresh/token-transport.js"

const MAX = 1024
const send = boundedFetch(MAX)
const form = (extra = "") => ({
  body: new URLSearchParams(`grant_type=refresh_token&refresh_token=rt${extra}`),
  headers: { "content-type": "application/x-www-form-urlencoded;charset=UTF-8", accept: "application/json" },
  method: "POST",
  redirect: "manual" as const,
})

describe("the token transport (undici request, real loopback server)", () => {
  let server: Server
  let base = ""
  let seen: { headers: IncomingHttpHeaders; body: string } | undefined

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        seen = { headers: req.headers, body: Buffer.concat(chunks).toString() }
        const path = req.url ?? "/"
        if (path === "/ok") res.writeHead(200, { "content-type": "application/json" }).end(`{"access_token":"a"}`)
        else if (path === "/redirect") res.writeHead(302, { location: "/ok" }).end()
        else if (path === "/compress") {
          res.writeHead(200, { "content-encoding": "compress" }).end("whatever")
        } else if (path === "/stall") {
          res.writeHead(200, { "content-type": "application/json" })
          res.write(`{"access_token":"`) // and never the rest
        } else if (path === "/error") res.writeHead(400).end(`{"error":"invalid_grant"}`)
        else res.writeHead(404).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  it("sends the form and the headers as given, asks for no content coding, and keeps a 200 answer's text", async () => {
    const response = await send(`${base}/ok`, form())
    expect(seen?.body).toBe("grant_type=refresh_token&refresh_token=rt")
    expect(seen?.headers["content-type"]).toBe("application/x-www-form-urlencoded;charset=UTF-8")
    expect(seen?.headers["accept-encoding"]).toBe("identity")
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("application/json")
    expect(receivedText(response)).toBe(`{"access_token":"a"}`)
  })

  it("an answer that is not 200 keeps its body as a readable Response, and no text beside it", async () => {
    const response = await send(`${base}/error`, form())
    expect(response.status).toBe(400)
    expect(receivedText(response)).toBeUndefined()
    expect(await response.text()).toBe(`{"error":"invalid_grant"}`)
  })

  it("does not follow a redirect", async () => {
    const response = await send(`${base}/redirect`, form())
    expect(response.status).toBe(302)
    expect(response.headers.get("location")).toBe("/ok")
  })

  it("a refused connection throws like fetch: a TypeError whose cause has Node's code", async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const error = await send(`http://127.0.0.1:${port}/ok`, form()).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(TypeError)
    expect((error as { cause?: { code?: unknown } }).cause?.code).toBe("ECONNREFUSED")
  })

  it("a body cut off by the request's bound fails when read, with the signal's reason", async () => {
    const response = await send(`${base}/stall`, { ...form(), signal: AbortSignal.timeout(300) })
    expect(response.status).toBe(200)
    expect(receivedText(response)).toBeUndefined()
    const error = await readBoundedText(response, MAX).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((error as { name?: unknown }).name).toBe("TimeoutError")
  })

  it("an unknown content coding is not taken for the text", async () => {
    const response = await send(`${base}/compress`, form())
    expect(receivedText(response)).toBeUndefined()
    await expect(readBoundedText(response, MAX)).rejects.toThrow(/content coding "compress" is not supported/)
  })
})

describe("decoding a coded body (pure)", () => {
  it("decodes gzip, and stops a bomb at the bound plus one byte instead of inflating it whole", () => {
    const text = Buffer.from(`{"access_token":"a"}`)
    expect(decoded(gzipSync(text), "gzip", MAX).toString()).toBe(text.toString())
    expect(decoded(text, "identity", MAX)).toBe(text)
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, "x"))
    expect(bomb.byteLength).toBeLessThan(128 * 1024)
    expect(decoded(bomb, "gzip", MAX).byteLength).toBe(MAX + 1)
  })
})
