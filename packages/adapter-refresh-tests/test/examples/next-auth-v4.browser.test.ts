/**
 * examples/next-auth-v4-pages in real Chromium: `next build` (cached by a hash of its inputs, see the
 * example's scripts/build.mjs) + `next start`, next-auth 4.24 with @next-auth/prisma-adapter, the real
 * oidc-provider (rotating refresh tokens, 8 s access tokens), real PostgreSQL. The blog workaround's setup
 * with its signIn callback removed and withTokenSync put in; the control run is the bare adapter.
 */
import { createRequire } from "node:module"
import * as path from "node:path"

import { buildExample, exampleDir } from "./example-flow.js"
import { defineExampleSuite } from "./example-suite.js"

const EXAMPLE = "next-auth-v4-pages"
const nextBin = path.join(
  path.dirname(createRequire(path.join(exampleDir(EXAMPLE), "package.json")).resolve("next/package.json")),
  "dist",
  "bin",
  "next",
)

defineExampleSuite({
  title: "examples/next-auth-v4-pages in Chromium",
  example: EXAMPLE,
  shots: "next-auth-v4",
  schemaFile: "prisma/schema.sql",
  callbackPath: "/api/auth/callback/oidc",
  paths: { signIn: "/api/auth/signin", signOut: "/api/auth/signout" },
  command: process.execPath,
  args: (port) => [nextBin, "start", "--hostname", "127.0.0.1", "--port", String(port)],
  env: { NEXTAUTH_URL: "{origin}" },
  storedQuery: `SELECT access_token, refresh_token, expires_at FROM "Account"`,
  prepare: () => {
    const { ms, output } = buildExample(EXAMPLE)
    const steps = output.split("\n").filter((line) => line.startsWith("[example build]"))
    console.log(`[${EXAMPLE}] build step: ${ms} ms\n${steps.join("\n")}`)
  },
})
