/**
 * `npm run admin:token -- <name> [viewer|operator|admin]`: creates an admin API token and prints
 * it once (only its SHA-256 is stored).
 */
import { loadConfig } from '../src/config.js';
import { createPrisma } from '../src/db/prisma.js';
import { createAdminToken, ROLES, type Role } from '../src/http/admin/admin-tokens.js';

async function main(): Promise<void> {
  const [name, roleArg = 'viewer'] = process.argv.slice(2);
  const role = roleArg.toUpperCase() as Role;
  if (!name || !ROLES.includes(role)) throw new Error('usage: npm run admin:token -- <name> [viewer|operator|admin]');
  const prisma = createPrisma(loadConfig().DATABASE_URL);
  try {
    const { id, token } = await createAdminToken(prisma, name, role);
    console.log(`admin token ${id} (${name}, ${role.toLowerCase()}) — shown once, store it now:\n${token}`);
  } finally {
    await prisma.$disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(`admin:token: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
