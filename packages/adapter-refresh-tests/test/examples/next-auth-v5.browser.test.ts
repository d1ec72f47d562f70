/**
 * examples/next-auth-v5-app in real Chromium: `next build` (cached by a hash of its inputs, see the example's
 * scripts/build.mjs) + `next start` of the App Router app on the built library, next-auth 5 with
 * @auth/prisma-adapter and database sessions, the real oidc-provider (rotating refresh tokens, 8 s access
 * tokens), real PostgreSQL. The wrapper run must refresh once and store what the provider issued last; the
 * control run (TOKEN_SYNC=off, the bare PrismaAdapter) keeps the first sign-in's tokens and gets the 401.
 */
import { createRequire } from "node:module"
import * as path from "node:path"

import { buildExample, exampleDir } from "./example-flow.js"
import { defineExampleSuite } from "./example-suite.js"

const EXAMPLE = "next-auth-v5-app"
const nextBin = path.join(
  path.dirname(createRequire(path.join(exampleDir(EXAMPLE), "package.json")).resolve("next/package.json")),
  "dist",
  "bin",
  "next",
)

defineExampleSuite({
  title: "examples/next-auth-v5-app in Chromium",
  example: EXAMPLE,
  shots: "next-auth-v5",
  schemaFile: "prisma/schema.sql",
  callbackPath: "/api/auth/callback/oidc",
  // Auth.js's own pages: the home page's sign-in button is a server action, which navigates only after its
  // fetch returns, so a click there gives the browser no navigation to wait on.
  paths: { signIn: "/api/auth/signin", signOut: "/api/auth/signout" },
  command: process.execPath,
  args: (port) => [nextBin, "start", "--hostname", "127.0.0.1", "--port", String(port)],
  originHost: "localhost",
  env: { AUTH_URL: "{origin}", AUTH_TRUST_HOST: "true" },
  storedQuery: `SELECT access_token, refresh_token, expires_at FROM "Account" ORDER BY "createdAt"`,
  prepare: () => {
    const { ms, output } = buildExample(EXAMPLE)
    const steps = output.split("\n").filter((line) => line.startsWith("[example build]"))
    console.log(`[${EXAMPLE}] build step: ${ms} ms\n${steps.join("\n")}`)
  },
})
