/**
 * The one-argument line, `withTokenSync(PrismaAdapter(prisma))`: the compiler's error and the run-time
 * error both show the two-argument line, so a user who copied the promised line learns what to write.
 * Compile time: one-argument.types.ts compiled (TypeScript's API, readme-types/tsconfig.json) without its
 * `@ts-expect-error` markers. Run time: the real official adapters, built on real clients that are never
 * connected (withTokenSync refuses before any statement).
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, test } from "@jest/globals"
import { DrizzleAdapter } from "@auth/drizzle-adapter"
import { KyselyAdapter, type Database as KyselyDatabase } from "@auth/kysely-adapter"
import PostgresAdapter from "@auth/pg-adapter"
import { PrismaAdapter } from "@auth/prisma-adapter"
import SequelizeAdapter from "@auth/sequelize-adapter"
import { TypeORMAdapter } from "@auth/typeorm-adapter"
import { PrismaAdapter as NextAuthV4PrismaAdapter } from "@next-auth/prisma-adapter"
import { PrismaPg } from "@prisma/adapter-pg"
import { TokenSyncError, UnsupportedDatabaseError, withTokenSync, type AuthjsAdapter } from "authjs-adapter-refresh"
import Database from "better-sqlite3"
import { drizzle as drizzleSqlite } from "drizzle-orm/better-sqlite3"
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres"
import { Kysely, PostgresDialect } from "kysely"
import pg from "pg"
import { Sequelize } from "sequelize"
import ts from "typescript"
import { PrismaClient } from "../../generated/prisma/client.js"

const here = dirname(fileURLToPath(import.meta.url))
const TWO_ARGUMENT_LINE = "withTokenSync(PrismaAdapter(prisma), prisma)"

describe("withTokenSync(adapter) at compile time", () => {
  test("each one-argument call fails with the two-argument line, and nothing else fails", () => {
    const fixture = join(here, "one-argument.types.ts")
    const marked = readFileSync(fixture, "utf8")
    const unmarked = marked.replace(/\/\/ @ts-expect-error.*$/gm, "")
    const config = ts.getParsedCommandLineOfConfigFile(
      join(here, "tsconfig.json"),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"))
        },
      },
    )
    if (!config) throw new Error("cannot read readme-types/tsconfig.json")
    const host = ts.createCompilerHost(config.options)
    const readFile = host.readFile.bind(host)
    host.readFile = (file) => (file === fixture ? unmarked : readFile(file))
    const getSourceFile = host.getSourceFile.bind(host)
    host.getSourceFile = (file, language, ...rest) =>
      file === fixture ? ts.createSourceFile(file, unmarked, language) : getSourceFile(file, language, ...rest)
    const program = ts.createProgram([fixture], config.options, host)
    const source = program.getSourceFile(fixture)!
    const errors = ts.getPreEmitDiagnostics(program, source).map((d) => ({
      line: source.getLineAndCharacterOfPosition(d.start ?? 0).line + 1,
      text: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    }))
    // The lines that carried a marker, as the compiler numbers them.
    const markedLines = marked
      .split("\n")
      .flatMap((line, index) => (line.includes("// @ts-expect-error") ? [index + 2] : []))
    expect(markedLines).toHaveLength(2)
    expect(errors.map((e) => e.line)).toEqual(markedLines)
    for (const { text } of errors) {
      expect(text).toContain(TWO_ARGUMENT_LINE)
      expect(text).not.toMatch(/Expected \d+(-\d+)? arguments/)
    }
  }, 120_000)
})

describe("withTokenSync(adapter) at run time (real adapters, never connected)", () => {
  const pool = new pg.Pool({ connectionString: "postgres://unused@127.0.0.1:1/unused" })
  const sqlite = new Database(":memory:")
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
  const kysely = new Kysely<KyselyDatabase>({ dialect: new PostgresDialect({ pool }) })
  const cases: [string, AuthjsAdapter, string][] = [
    ["@auth/prisma-adapter", PrismaAdapter(prisma), "withTokenSync(PrismaAdapter(prisma), prisma)"],
    ["@next-auth/prisma-adapter (v4)", NextAuthV4PrismaAdapter(prisma), "withTokenSync(PrismaAdapter(prisma), prisma)"],
    ["@auth/kysely-adapter", KyselyAdapter(kysely), "withTokenSync(KyselyAdapter(db), db)"],
    ["@auth/pg-adapter", PostgresAdapter(pool), "withTokenSync(PostgresAdapter(pool), pool)"],
    [
      "@auth/sequelize-adapter",
      SequelizeAdapter(new Sequelize("postgres://unused@127.0.0.1:1/unused", { logging: false })),
      "withTokenSync(SequelizeAdapter(sequelize), sequelize)",
    ],
    [
      "@auth/drizzle-adapter (node-postgres)",
      DrizzleAdapter(drizzleNodePg(pool)),
      "withTokenSync(DrizzleAdapter(db), db)",
    ],
    ["@auth/drizzle-adapter (SQLite)", DrizzleAdapter(drizzleSqlite(sqlite)), "withTokenSync(DrizzleAdapter(db), db)"],
    // Built from options alone: it opens its DataSource on its first call, which never comes.
    [
      "@auth/typeorm-adapter",
      TypeORMAdapter({ type: "better-sqlite3", database: ":memory:" }),
      "withTokenSync(TypeORMAdapter(options), dataSource)",
    ],
  ]
  const others = (line: string) => cases.map((c) => c[2]).filter((l) => l !== line)

  afterAll(async () => {
    sqlite.close()
    await pool.end()
  })

  test.each(cases)("%s alone: UnsupportedDatabaseError showing its own two-argument line", (_, adapter, line) => {
    const call = withTokenSync as unknown as (adapter: AuthjsAdapter) => unknown
    const error = catchError(() => call(adapter))
    expect(error).toBeInstanceOf(UnsupportedDatabaseError)
    expect((error as TokenSyncError).code).toBe("UNSUPPORTED_DATABASE")
    expect((error as Error).message).toContain("was called with the adapter only")
    expect((error as Error).message).toContain(line)
    for (const other of others(line)) expect((error as Error).message).not.toContain(other)
  })

  test.each(cases)("%s with options where the client goes: the same error", (_, adapter, line) => {
    const call = withTokenSync as unknown as (adapter: AuthjsAdapter, options: object) => unknown
    const error = catchError(() => call(adapter, { refresh: { providers: [] }, tokenFields: [] }))
    expect(error).toBeInstanceOf(UnsupportedDatabaseError)
    expect((error as Error).message).toContain("was given options where the client goes")
    expect((error as Error).message).toContain(line)
  })

  test("an adapter it cannot recognise: the rule and the common lines", () => {
    const custom: AuthjsAdapter = { linkAccount: async (account: unknown) => Promise.resolve(account) }
    const call = withTokenSync as unknown as (adapter: AuthjsAdapter) => unknown
    const message = (catchError(() => call(custom)) as Error).message
    for (const line of new Set(cases.map((c) => c[2]))) expect(message).toContain(line)
  })

  test("the two-argument line still works with each adapter (the control)", () => {
    expect(withTokenSync(PrismaAdapter(prisma), prisma).accountStore.name).toMatch(/prisma/i)
    expect(withTokenSync(PostgresAdapter(pool), pool).accountStore.name).toMatch(/pg|postgres/i)
  })
})

function catchError(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error("expected a throw")
}
