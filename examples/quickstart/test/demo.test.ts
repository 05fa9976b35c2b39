import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

/** Checks everything the demo's transcript promises; shared by the in-process and the script run. */
function checkTranscript(transcript: string): void {
  // Every step, in order, with its expected outcome.
  expect(transcript).toMatch(
    /1\. connect without a token\n {3}-> refused: HTTP 401, ERR_UNAUTHENTICATED.*WWW-Authenticate: Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/,
  );
  expect(transcript).toContain(
    '-> {"subject":"acme-reader","tenant":"acme","scopes":["notes:read"],"roles":["reader"]}',
  );
  expect(transcript).toMatch(
    /read notes:\/\/globex\/1 \(another tenant\)\n {3}-> refused: HTTP 403, ERR_FORBIDDEN/,
  );
  expect(transcript).toMatch(/admin_reset \(needs role admin\)\n {3}-> refused: HTTP 403, ERR_FORBIDDEN/);
  expect(transcript).toContain(
    'refused: HTTP 403, ERR_INSUFFICIENT_SCOPE, data {"requiredScopes":["notes:write"]}, WWW-Authenticate: Bearer error="insufficient_scope", scope="notes:write"',
  );
  expect(transcript).toContain('-> retried as acme writer: Saved note 3');
  expect(transcript).toMatch(
    /refused: HTTP 429, ERR_RATE_LIMITED, data \{"level":"principalTool","retryAfterMs":\d+\}, Retry-After: \d+/,
  );
  // Redaction: markers present, the fake key and the email address nowhere in the transcript.
  expect(transcript).toContain(
    '-> # CI credentials | Deploy bot access key [REDACTED:aws-access-key-id]; questions to [REDACTED:email]',
  );
  expect(transcript).not.toContain('AKIA');
  expect(transcript).not.toContain('ops@acme.example.com');
  expect(transcript).not.toMatch(/UNEXPECTED|unexpected error/);
  expect(transcript).toContain('done: all 9 steps as expected');

  // Audit records read back from the sink, for allowed and refused calls.
  const audit = transcript.slice(transcript.indexOf('Audit records of this session'));
  // 9 steps, 12 chain calls, plus the token-less connect refused at the HTTP edge (http reports
  // edge refusals to audit since "Early refusals reach audit and telemetry").
  expect(audit).toMatch(/Audit records of this session \(13,/);
  expect(audit).toContain(
    'unknown  | anonymous | denied by http (ERR_UNAUTHENTICATED) | outcome error ERR_UNAUTHENTICATED',
  );
  expect(audit).toContain('tools/call whoami | acme-reader@acme | allowed | outcome ok');
  expect(audit).toContain(
    'resources/read notes://globex/1 | acme-reader@acme | denied by rbac (ERR_FORBIDDEN) | outcome error ERR_FORBIDDEN',
  );
  expect(audit).toContain(
    'tools/call notes_write | acme-reader@acme | denied by rbac (ERR_INSUFFICIENT_SCOPE)',
  );
  expect(audit).toMatch(
    /tools\/call notes_write \| acme-writer@acme \| denied by rate-limit \(ERR_RATE_LIMITED\) .*rateLimit principalTool refused/,
  );
  expect(audit).toMatch(
    /tools\/call notes_read \| acme-reader@acme \| allowed .*redactions \{"aws-access-key-id":1,"email":1\}/,
  );

  // The span tree: server spans nested under the demo's step spans, handler spans under those.
  const spans = transcript.slice(transcript.indexOf('Span tree'));
  expect(spans).toMatch(/ {2}- demo step 2: acme reader: whoami\n {4}- tools\/call whoami\n/);
  expect(spans).toMatch(/ {4}- tools\/call notes_list\n {6}- notes\.store list\n/);
  expect(spans).toContain('- tools/call admin_reset [error -32011]');
  expect(spans).toContain('- tools/call notes_write [error -32012]');
  expect(spans).toContain('- tools/call notes_write [error -32013]');
  expect(spans).toContain('- prompts/get summarize_notes');
}

describe('quickstart demo', () => {
  it('plays the scripted session: refusals, step-up, rate limit, redaction, audit, spans', async () => {
    const lines: string[] = [];
    const result = await runDemo((line) => lines.push(line), { PATH: process.env.PATH });
    const transcript = lines.join('\n');
    checkTranscript(transcript);
    expect(result.ok).toBe(true);
    expect(result.steps.map((s) => s.ok)).toEqual(Array(9).fill(true));
    expect(transcript).toContain('Audit hash chain: intact (13 records)');
  }, 30_000);

  // dist is built by test/global-setup.ts.
  describe('as a script (`pnpm --dir examples/quickstart demo`, what the root `pnpm demo` runs)', () => {
    it('prints the same transcript and exits 0', async () => {
      const { stdout } = await run('pnpm', ['run', '--silent', 'demo'], {
        cwd: root,
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      });
      checkTranscript(stdout);
    }, 60_000);
  });
});
