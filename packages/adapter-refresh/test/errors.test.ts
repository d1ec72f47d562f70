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
})
