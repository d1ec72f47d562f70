/**
 * `refresh.revocation`'s options, checked at construction (refresh/revocation.ts): each refusal is an
 * `InvalidOptionsError` naming the option and what is wrong, before any request. The requests themselves
 * are tested against the real provider (adapter-refresh-tests, test/refresh/revocation.test.ts).
 */
import { describe, expect, test } from "@jest/globals"
import { InvalidOptionsError } from "../../src/errors.js"
import { resolveRevocation, type RevocationOptions } from "../../src/refresh/revocation.js"

const issuerProvider = {
  id: "idp",
  type: "oidc" as const,
  issuer: "https://idp.example",
  clientId: "c",
  clientSecret: "s",
}
const tokenOnly = {
  id: "plain",
  type: "oauth" as const,
  token: "https://plain.example/token",
  clientId: "c",
  clientSecret: "s",
}
const resolve = (options: unknown, allowInsecure = false) =>
  resolveRevocation(options as RevocationOptions, [issuerProvider, tokenOnly], allowInsecure)

describe("refresh.revocation options", () => {
  test("a provider with an issuer discovers its endpoint; a configured https endpoint is taken as given", () => {
    const resolved = resolve({ providers: ["idp", { id: "plain", endpoint: new URL("https://plain.example/revoke") }] })
    expect([...resolved.keys()]).toEqual(["idp", "plain"])
    expect(resolved.get("idp")).toMatchObject({ endpoint: undefined, onSignOut: false })
    expect(resolved.get("plain")).toMatchObject({ endpoint: "https://plain.example/revoke", onSignOut: false })
  })

  test("plain http is accepted on loopback hosts only, or with allowInsecureRequests", () => {
    expect(resolve({ providers: [{ id: "plain", endpoint: "http://127.0.0.1:9/revoke" }] }).size).toBe(1)
    expect(resolve({ providers: [{ id: "plain", endpoint: "http://localhost:9/revoke" }] }).size).toBe(1)
    expect(() => resolve({ providers: [{ id: "plain", endpoint: "http://127.0.0.2:9/revoke" }] })).toThrow(
      /must be an https URL/,
    )
    expect(resolve({ providers: [{ id: "plain", endpoint: "http://idp.example/revoke" }] }, true).size).toBe(1)
  })

  test.each([
    ["not an object", null, "refresh.revocation", /must be an object/],
    ["providers not an array", { providers: "idp" }, "refresh.revocation.providers", /must be an array/],
    ["an entry without id", { providers: [{}] }, "refresh.revocation.providers", /provider ids or \{ id/],
    [
      "an id not in refresh.providers",
      { providers: ["other"] },
      "refresh.revocation.providers",
      /"other", which is not/,
    ],
    ["an id twice", { providers: ["idp", { id: "idp" }] }, "refresh.revocation.providers", /"idp" twice/],
    [
      "onSignOut not a boolean",
      { providers: [{ id: "idp", onSignOut: "yes" }] },
      "refresh.revocation.providers",
      /boolean/,
    ],
    [
      "a relative endpoint",
      { providers: [{ id: "plain", endpoint: "/revoke" }] },
      "refresh.revocation.providers",
      /https URL/,
    ],
    ["nothing to discover from", { providers: ["plain"] }, "refresh.revocation.providers", /no issuer or wellKnown/],
    ["timeoutMs 0", { providers: [], timeoutMs: 0 }, "refresh.revocation.timeoutMs", /positive integer/],
    ["timeoutMs fractional", { providers: [], timeoutMs: 1.5 }, "refresh.revocation.timeoutMs", /positive integer/],
  ])("refused: %s", (_name, options, option, message) => {
    let error: unknown
    try {
      resolve(options)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).option).toBe(option)
    expect((error as Error).message).toMatch(message)
  })
})
