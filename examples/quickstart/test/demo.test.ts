import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';

describe('quickstart demo', () => {
  it('plays the scripted session: list, call, refusal, bad input', async () => {
    const lines: string[] = [];
    await runDemo((line) => lines.push(line));
    const transcript = lines.join('\n');
    expect(transcript).toContain('2. tools/list -> echo, time, admin_reset');
    expect(transcript).toContain('3. tools/call echo -> [{"type":"text","text":"hello, hardened world"}]');
    expect(transcript).toContain('refused: JSON-RPC -32011, data {"code":"ERR_FORBIDDEN"}');
    expect(transcript).toMatch(/server: \[mcp\] tools\/call admin_reset refused ERR_FORBIDDEN/);
    expect(transcript).toContain('(isError: true)');
    expect(lines.at(-1)).toBe('done');
  });
});
