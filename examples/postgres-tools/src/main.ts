import type { LoadedPolicy } from '@mcp-harden/policy';
import { createDatabase } from './db.js';
import { migrate, roleUrls } from './migrate.js';
import { loadOrdersPolicy } from './policy.js';
import { devPrincipal } from './principal.js';
import { startOrdersService } from './server.js';

// Configuration comes from the environment only; nothing secret has a default.
function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    console.error(`postgres-tools: ${name} is required (see examples/postgres-tools/README.md)`);
    process.exit(2);
  }
  return value;
}

if (process.env.NODE_ENV === 'production') {
  // The development principals below are not authentication. Refuse before touching the database.
  console.error('postgres-tools: NODE_ENV=production needs real authentication (replace devPrincipal())');
  process.exit(2);
}

// Who may call which tool: policy.yaml, validated before touching the database.
let policy: LoadedPolicy;
try {
  policy = loadOrdersPolicy(process.env.POLICY_FILE || undefined);
} catch (err) {
  console.error(`postgres-tools: ${(err as Error).message}`);
  process.exit(2);
}

const passwords = {
  readerPassword: required('PG_READER_PASSWORD'),
  writerPassword: required('PG_WRITER_PASSWORD'),
};
const adminUrl = process.env.DATABASE_ADMIN_URL;
// With an admin URL the server migrates first; otherwise it needs the URL of the database only.
const urls = adminUrl ? await migrate(adminUrl, passwords) : roleUrls(required('DATABASE_URL'), passwords);

const db = createDatabase(urls);
const served = await startOrdersService({
  db,
  policy,
  // devPrincipal() throws when NODE_ENV=production: put bearerAuth of @mcp-harden/auth here.
  authenticate: [devPrincipal()],
  host: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT ?? 3001),
});
console.error(
  `postgres-tools listening on ${served.url.href} (development principals: x-dev-principal header)`,
);

const stop = () =>
  void served
    .close()
    .then(() => db.close())
    .then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
