import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devPrincipal } from '../src/index.js';

const SQL_WORD =
  /\b(select|insert|update|delete|from|where|values|returning|alter|create|drop|grant|revoke|set_config|execute)\b/i;

/** Template literals that interpolate (`${`) and look like SQL: string-built queries. */
export function interpolatedSql(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/`(?:\\[\s\S]|[^`\\])*`/g)) {
    const literal = match[0];
    if (literal.includes('${') && SQL_WORD.test(literal)) found.push(literal);
  }
  return found;
}

/** `.query(` calls whose first argument is built with `+` or `concat`. */
export function concatenatedSql(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/\.query(?:<[^>]*>)?\(\s*((?:'[^']*'|`[^`]*`|[^,)])*)/g)) {
    const first = match[1] ?? '';
    if (/\+|\.concat\(/.test(first.replace(/'[^']*'|`[^`]*`/g, "''"))) found.push(first);
  }
  return found;
}

const srcDir = join(import.meta.dirname, '..', 'src');
const sources = readdirSync(srcDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ file: f, text: readFileSync(join(srcDir, f), 'utf8') }));

describe('parameterised queries only', () => {
  it('the detectors catch string-built SQL (so the checks below can fail)', () => {
    const bad = 'await tx.query(`SELECT * FROM orders_app.orders WHERE id = $' + '{id}`);';
    expect(interpolatedSql(bad)).toHaveLength(1);
    expect(concatenatedSql("await tx.query('SELECT * FROM t WHERE id = ' + id, []);")).toHaveLength(1);
    expect(interpolatedSql('await tx.query(`SELECT * FROM t WHERE id = $1`, [id]);')).toEqual([]);
    expect(concatenatedSql("await tx.query('SELECT * FROM t WHERE id = $1', [id]);")).toEqual([]);
  });

  it('finds the source files', () => {
    expect(sources.map((s) => s.file)).toEqual(expect.arrayContaining(['db.ts', 'migrate.ts', 'orders.ts']));
  });

  it.each(sources.map((s) => [s.file, s.text] as const))('%s builds no SQL from strings', (_file, text) => {
    expect(interpolatedSql(text)).toEqual([]);
    expect(concatenatedSql(text)).toEqual([]);
  });
});

describe('devPrincipal()', () => {
  it('refuses to be constructed with NODE_ENV=production', () => {
    expect(() => devPrincipal({ env: { NODE_ENV: 'production' } })).toThrow(TypeError);
    expect(() => devPrincipal({ env: { NODE_ENV: 'development' } })).not.toThrow();
  });

  it('refuses an empty principal map', () => {
    expect(() => devPrincipal({ principals: {}, env: {} })).toThrow(TypeError);
  });
});
