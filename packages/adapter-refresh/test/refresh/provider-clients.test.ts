/**
 * The engine's providers (refresh/provider-clients.ts): one client per configured id, its scope dialect, and a
 * provider asked for that is not configured refused by name. Configurations only: no request, no database.
 */
import { describe, expect, test } from "@jest/globals"
import { RefreshNotConfiguredError } from "../../src/errors.js"
import { GITHUB_SCOPES, RFC6749_SCOPES } from "../../src/policy/scopes.js"
import { providerClientsOf } from "../../src/refresh/provider-clients.js"

const providers = [
  { id: "github", clientId: "c", clientSecret: "s", token: "https://github.com/login/oauth/access_token" },
  { id: "acme", clientId: "c", clientSecret: "s", token: "https://acme.example/token" },
]

describe("providerClientsOf", () => {
  test("one client per provider id, each with its scope dialect", () => {
    const { clients, dialects, clientOf } = providerClientsOf({ providers })
    expect([...clients.keys()]).toEqual(["github", "acme"])
    expect(clientOf("acme")).toBe(clients.get("acme"))
    expect(dialects.get("github")).toBe(GITHUB_SCOPES)
    expect(dialects.get("acme")).toBe(RFC6749_SCOPES)
  })

  test("a provider that is not configured is refused by name", () => {
    const { clientOf } = providerClientsOf({ providers })
    expect(() => clientOf("google")).toThrow(RefreshNotConfiguredError)
    expect(() => clientOf("google")).toThrow(/"google": it is not in refresh.providers/)
  })

  test("a provider that cannot be refreshed fails at construction", () => {
    expect(() => providerClientsOf({ providers: [{ id: "bare", clientId: "c" }] })).toThrow(RefreshNotConfiguredError)
  })
})
