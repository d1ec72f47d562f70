/** Reading a model's table and columns out of Prisma schema text (stores/prisma-schema.ts): pure, no server. */
import { describe, expect, test } from "@jest/globals"
import { readPrismaModel, type PrismaSchemaModel } from "../../src/stores/prisma-schema.js"

const model = (text: string, name = "Account"): PrismaSchemaModel => {
  const reading = readPrismaModel(text, name)
  if (!reading.ok) throw new Error(`refused: ${reading.reason}`)
  return reading.model
}
const reason = (text: string, name = "Account"): string => {
  const reading = readPrismaModel(text, name)
  if (reading.ok) throw new Error("read, expected a refusal")
  return reading.reason
}
const columnsOf = (m: PrismaSchemaModel) => Object.fromEntries(m.fields.map((field) => [field.name, field.column]))

const USER = `model User {\n  id String @id\n  accounts Account[]\n}\n`

describe("readPrismaModel", () => {
  test("the documented schema: table = model name, columns = field names, the relation has no column, @updatedAt found", () => {
    const m = model(`${USER}
model Account {
  userId            String
  provider          String
  providerAccountId String
  access_token      String? @db.Text
  expires_at        Int?
  updatedAt DateTime @updatedAt
  user User @relation(fields: [userId], references: [id], onDelete: Cascade)

  @@id([provider, providerAccountId])
}`)
    expect(m).toMatchObject({ name: "Account", table: "Account", mappedTable: undefined, schema: undefined })
    expect(columnsOf(m)).toEqual({
      userId: "userId",
      provider: "provider",
      providerAccountId: "providerAccountId",
      access_token: "access_token",
      expires_at: "expires_at",
      updatedAt: "updatedAt",
      user: undefined,
    })
    expect(m.fields.filter((field) => field.updatedAt).map((field) => field.name)).toEqual(["updatedAt"])
  })

  test("@map and @@map (also with name:), @@schema, comments, odd spacing and strings that look like syntax", () => {
    const m = model(`// model Account { a String } in a comment is not a declaration
${USER}
/// documentation comment
model   Account    {
  userId    String   @map("user_id") // a trailing comment with @map("nope")
  provider  String
  providerAccountId String @map(name: "provider_account_id")
  access_token String? @db.Text @map( "access_token_" )
  note String @default("} // @map(\\"x\\") {")
  updatedAt DateTime @updatedAt @map("updated_at")
  user User @relation(fields: [userId], references: [id])
  @@map(name: "accounts")
  @@schema("auth")
  @@id([provider, providerAccountId], map: "accounts_pkey")
}
model Other { id Int @id }`)
    expect(m).toMatchObject({ table: "accounts", mappedTable: "accounts", schema: "auth" })
    expect(columnsOf(m)).toEqual({
      userId: "user_id",
      provider: "provider",
      providerAccountId: "provider_account_id",
      access_token: "access_token_",
      note: "note",
      updatedAt: "updated_at",
      user: undefined,
    })
  })

  test("enum fields are columns", () => {
    const m = model(
      `enum Kind {\n  oauth\n  oidc\n}\n${USER}model Account {\n  type Kind ` +
        `@map("kind")\n  user User @relation(fields: [type], references: [id])\n}`,
    )
    expect(columnsOf(m)).toEqual({ type: "kind", user: undefined })
  })

  test.each([
    ["no such model", `${USER}`, /no model Account/],
    ["the model twice", `model Account {\n id Int\n}\nmodel Account {\n id Int\n}`, /declared 2 times/],
    ["a block comment", `/* model */\nmodel Account {\n id Int\n}`, /block comment/],
    ["a string left open", `model Account {\n id String @default("x\n}`, /left open/],
    ["a block left open", `model Account {\n id Int`, /block left open/],
    ["@map of a non-identifier", `model Account {\n id Int @map("user-id")\n}`, /not a plain identifier/],
    ["@map of a non-literal", `model Account {\n id Int @map(env("X"))\n}`, /one plain string argument/],
    ["@map with an escape", `model Account {\n id Int @map("a\\"b")\n}`, /one plain string argument/],
    ["@map twice", `model Account {\n id Int @map("a") @map("b")\n}`, /given twice/],
    ["@@map twice", `model Account {\n id Int\n @@map("a")\n @@map("b")\n}`, /@@map given twice/],
    ["two fields on one column", `model Account {\n a Int @map("x")\n b Int @map("x")\n}`, /one column/],
    ["Unsupported(...)", `model Account {\n id Int\n geo Unsupported("geometry")\n}`, /unreadable field line/],
    ["an unknown type", `model Account {\n id Int\n meta Meta\n}`, /neither a scalar/],
    ["@ignore", `model Account {\n id Int\n old String @ignore\n}`, /@ignore/],
    ["@@ignore", `model Account {\n id Int\n @@ignore\n}`, /@@ignore/],
    ["a field line of another shape", `model Account {\n id: Int\n}`, /unreadable field line/],
    ["text after an attribute", `model Account {\n id Int @id()x\n}`, /unexpected text/],
    ["a brace inside the model", `model Account {\n id Int { }\n}`, /brace inside/],
  ])("refuses %s", (_what, text, expected) => {
    expect(reason(text)).toMatch(expected)
  })

  test("refuses what is not schema text or not a model name, and never throws", () => {
    expect(readPrismaModel(undefined as unknown as string, "Account")).toMatchObject({ ok: false })
    expect(readPrismaModel("model Account {\n id Int\n}", "Acc ount")).toMatchObject({ ok: false })
  })
})
