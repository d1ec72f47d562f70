/**
 * Reads one model's table and column names (`@@map`, `@map`, `@@schema`) and its `@updatedAt` fields out
 * of Prisma schema text, for the Prisma store's one-statement sign-in: raw SQL needs the real names, and a
 * generated Prisma 7 client keeps the field-level `@map` names only in the schema text it embeds.
 *
 * Strict on purpose: anything it does not fully understand (a block comment, an unbalanced string, a field
 * line of another shape, a non-literal or non-identifier name, `@ignore`, `Unsupported(...)`, a composite
 * type, the model declared twice or not at all) is refused with a reason, and the store then keeps the
 * locked path. It never guesses a name. Internal: not part of the package's exports.
 */

/** One field of the model, in declaration order. */
export interface PrismaSchemaField {
  name: string
  /** The type as written, without `?` / `[]`. */
  type: string
  /** The column (`@map`, else the field name); undefined for a relation field (its type is a model). */
  column: string | undefined
  /** Whether the field has `@updatedAt` (Prisma, not the database, sets it on every write). */
  updatedAt: boolean
}

/** The model as the schema text declares it. */
export interface PrismaSchemaModel {
  name: string
  /** The table (`@@map`, else the model name). */
  table: string
  /** `@@map`'s name when the model has one (what the client's runtime data model calls `dbName`). */
  mappedTable: string | undefined
  /** `@@schema`'s name when the model has one (multi-schema). */
  schema: string | undefined
  fields: readonly PrismaSchemaField[]
}

export type PrismaSchemaReading = { ok: true; model: PrismaSchemaModel } | { ok: false; reason: string }

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const SCALAR_TYPES = new Set(["String", "Boolean", "Int", "BigInt", "Float", "Decimal", "DateTime", "Json", "Bytes"])
const BLOCK_START = /(?:^|\n)[ \t]*(model|view|enum|type|generator|datasource)[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*\{/g
const FIELD_LINE = /^([A-Za-z_][A-Za-z0-9_]*)[ \t]+([A-Za-z_][A-Za-z0-9_]*)(\?|\[\])?(?:[ \t]+(.*))?$/
const ATTRIBUTE_NAME = /^@@?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/
const NAME_ARGUMENT = /^\s*(?:name\s*:\s*)?"([^"\\]*)"\s*$/

class Refusal extends Error {}

const refuse = (reason: string): never => {
  throw new Refusal(reason)
}

/** The text with every `//` comment blanked (newlines kept); strings are left as they are. */
function withoutComments(text: string): string {
  let out = ""
  let i = 0
  while (i < text.length) {
    const char = text[i]!
    if (char === '"') {
      const end = endOfString(text, i)
      out += text.slice(i, end)
      i = end
    } else if (char === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++
    } else if (char === "/" && text[i + 1] === "*") {
      refuse("a block comment (not Prisma schema syntax)")
    } else {
      out += char
      i++
    }
  }
  return out
}

/** The index just past the string literal that starts at `start`; refuses one left open at the line's end. */
function endOfString(text: string, start: number): number {
  let i = start + 1
  while (i < text.length) {
    const char = text[i]
    if (char === "\\") i += 2
    else if (char === '"') return i + 1
    else if (char === "\n") break
    else i++
  }
  return refuse("a string literal left open")
}

/** The body of the block whose `{` is at `open`: up to the first `}` outside a string. */
function blockBody(text: string, open: number): string {
  let i = open + 1
  while (i < text.length) {
    const char = text[i]
    if (char === '"') i = endOfString(text, i)
    else if (char === "{") refuse("a brace inside a block")
    else if (char === "}") return text.slice(open + 1, i)
    else i++
  }
  return refuse("a block left open")
}

interface Attribute {
  name: string
  /** The text between the parentheses, undefined when there are none. */
  args: string | undefined
}

/** `@name(args) @other ...`, each attribute's arguments balanced, strings respected. */
function attributes(text: string): Attribute[] {
  const found: Attribute[] = []
  let rest = text.trim()
  while (rest.length > 0) {
    const name = ATTRIBUTE_NAME.exec(rest)?.[0] ?? refuse(`an unreadable attribute list "${rest.slice(0, 40)}"`)
    rest = rest.slice(name.length)
    let args: string | undefined
    const open = rest.length - rest.trimStart().length
    if (rest[open] === "(") {
      let depth = 0
      let i = open
      for (; i < rest.length; i++) {
        const char = rest[i]
        if (char === '"') i = endOfString(rest, i) - 1
        else if (char === "(") depth++
        else if (char === ")" && --depth === 0) break
      }
      if (depth !== 0) refuse(`unbalanced parentheses after ${name}`)
      args = rest.slice(open + 1, i)
      rest = rest.slice(i + 1)
    }
    if (rest.length > 0 && !/^\s/.test(rest)) refuse(`unexpected text after ${name}`)
    found.push({ name, args })
    rest = rest.trim()
  }
  return found
}

/** A `@map` / `@@map` / `@@schema` argument: one string literal that is a plain identifier. */
function nameArgument(attribute: Attribute): string {
  const value = NAME_ARGUMENT.exec(attribute.args ?? "")?.[1]
  if (value === undefined) return refuse(`${attribute.name} without one plain string argument`)
  if (!IDENTIFIER.test(value)) return refuse(`${attribute.name}("${value}") is not a plain identifier`)
  return value
}

function readModel(schemaText: string, modelName: string): PrismaSchemaModel {
  const text = withoutComments(schemaText)
  const enums = new Set<string>()
  const models = new Set<string>()
  const bodies: string[] = []
  for (const match of text.matchAll(BLOCK_START)) {
    const [whole, kind, name] = match as unknown as [string, string, string]
    if (kind === "enum") enums.add(name)
    else if (kind === "model" || kind === "view") models.add(name)
    if (kind === "model" && name === modelName) bodies.push(blockBody(text, match.index + whole.length - 1))
  }
  if (bodies.length !== 1)
    refuse(bodies.length === 0 ? `no model ${modelName}` : `model ${modelName} declared ${bodies.length} times`)

  const fields: PrismaSchemaField[] = []
  let mappedTable: string | undefined
  let schema: string | undefined
  for (const raw of bodies[0]!.split("\n")) {
    const line = raw.trim()
    if (line === "") continue
    if (line.startsWith("@@")) {
      for (const attribute of attributes(line)) {
        if (attribute.name === "@@map") {
          if (mappedTable !== undefined) refuse("@@map given twice")
          mappedTable = nameArgument(attribute)
        } else if (attribute.name === "@@schema") {
          if (schema !== undefined) refuse("@@schema given twice")
          schema = nameArgument(attribute)
        } else if (attribute.name === "@@ignore") {
          refuse("@@ignore")
        }
      }
      continue
    }
    const field = FIELD_LINE.exec(line) ?? refuse(`an unreadable field line "${line.slice(0, 60)}"`)
    const [, name, type, , rest] = field as unknown as [string, string, string, string | undefined, string | undefined]
    if (fields.some((known) => known.name === name)) refuse(`field ${name} declared twice`)
    const relation = models.has(type)
    if (!relation && !SCALAR_TYPES.has(type) && !enums.has(type))
      refuse(`field ${name} has type ${type}, neither a scalar, an enum nor a model`)
    let column: string | undefined = relation ? undefined : name
    let updatedAt = false
    let mapped = false
    for (const attribute of attributes(rest ?? "")) {
      if (attribute.name === "@map") {
        if (relation || mapped) refuse(`@map on field ${name} ${relation ? "(a relation)" : "given twice"}`)
        mapped = true
        column = nameArgument(attribute)
      } else if (attribute.name === "@updatedAt") {
        updatedAt = true
      } else if (attribute.name === "@ignore") {
        refuse(`@ignore on field ${name}`)
      }
    }
    fields.push({ name, type, column, updatedAt })
  }
  const columns = fields.flatMap((field) => (field.column === undefined ? [] : [field.column]))
  if (new Set(columns).size !== columns.length) refuse("two fields mapped to one column")
  return { name: modelName, table: mappedTable ?? modelName, mappedTable, schema, fields }
}

/**
 * The model `modelName` as `schemaText` declares it, or the reason it cannot be read with certainty.
 * Never throws.
 */
export function readPrismaModel(schemaText: string, modelName: string): PrismaSchemaReading {
  if (typeof schemaText !== "string" || !IDENTIFIER.test(modelName))
    return { ok: false, reason: "no schema text or no model name" }
  try {
    return { ok: true, model: readModel(schemaText, modelName) }
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.message }
    throw error
  }
}
