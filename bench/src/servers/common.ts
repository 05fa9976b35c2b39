/** What every benchmarked server serves: the same two tools, the same text. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** ~1 KiB of tool output with a few secrets and emails in it (fakes, for redaction to find). */
export const REPORT_TEXT = [
  'Quarterly infrastructure report for the platform team.',
  'Owner: ops-lead@example.com, escalation: oncall@example.org.',
  'Deploy key rotated on 2026-10-01; old key AKIAIOSFODNN7EXAMPLE must not be reused.',
  'CI token in the runner env was ghp_1234567890abcdefghijklmnopqrstuvwxyzAB and has been revoked.',
  'Database: connection pool 40, p99 12 ms, 0 failovers. Cache hit ratio 97.2%.',
  'Customer contact for the incident review: jane.doe@customer.example.net.',
  'Build 4.12.7 shipped to 3 regions; 2 canaries rolled back (order ORD-20261001-7781).',
  'password=Sup3rS3cretValue! was found in a legacy config file and removed.',
  'Next steps: finish the Redis migration, review rate limits, rotate the signing keys.',
  'Latency budget: p50 under 5 ms, p99 under 50 ms for read tools; write tools under 200 ms.',
  'Disk usage on the audit volume is 41% with 90 days of retention.',
  'Summary: healthy, two follow-ups, no customer impact beyond the documented incident.',
].join('\n');

export const ECHO_DESCRIPTION = 'Echoes the text back';
export const REPORT_DESCRIPTION = 'Returns the quarterly report';

/** Port from the environment (0 = any free port) on 127.0.0.1. */
export const PORT = Number(process.env.PORT ?? 0);
export const HOST = '127.0.0.1';

/** Tells the harness the server is listening: one line `READY <port>` on stdout. */
export function announce(server: Server): void {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`READY ${port}\n`);
}

/** Reads a request body as parsed JSON (the harness always sends valid JSON). */
export async function readJson(req: NodeJS.ReadableStream): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}
