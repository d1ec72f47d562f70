/** A required environment variable, or an error that names it and where the variables are documented. */
export function requiredEnv(name: string): string {
  const value = process.env[name]?.trim()
  if (!value) throw new Error(`${name} is not set (see the "Examples" section of the repository README)`)
  return value
}
