// Stands in for the app's generated PrismaClient (`prisma generate` needs an engine download that this
// check cannot make); the adapters type their parameter from `@prisma/client`, which stays ungenerated.
export declare const prisma: { $transaction: unknown; $executeRaw: unknown; account: unknown; user: unknown }
