/** The typed errors' stable codes and messages (errors.ts): pure, no server. */
import { describe, expect, test } from "@jest/globals"
import { ProviderUnavailableError, RefreshTokenError } from "../src/errors.js"

describe("refresh errors", () => {
  test("carry a stable code and no token", () => {
    const e = new RefreshTokenError("google", "invalid_grant")
    expect(e.code).toBe("REFRESH_INVALID_GRANT")
    expect(e.name).toBe("RefreshTokenError")
    const u = new ProviderUnavailableError("google", { kind: "http_status", status: 502 }, 1)
    expect(u.message).toContain("HTTP 502")
    expect(u.code).toBe("PROVIDER_UNAVAILABLE")
  })

  test("invalid_scope on a refresh is a dead grant: sign in again, same stable code, says why", () => {
    const e = new RefreshTokenError("keycloak", "invalid_scope")
    expect({ code: e.code, reason: e.reason, provider: e.provider }).toEqual({
      code: "REFRESH_INVALID_GRANT",
      reason: "invalid_scope",
      provider: "keycloak",
    })
    expect(e.message).toContain("(invalid_scope): the user withdrew consent")
    expect(e.message).toContain("The user must sign in again")
    // Control: the invalid_grant wording is not the invalid_scope one.
    expect(new RefreshTokenError("keycloak", "invalid_grant").message).not.toContain("invalid_scope")
  })
})
