import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../src/index.js';
import { type CorpusRecord, generateCorpus } from './corpus/generate.mjs';

const committed: CorpusRecord[] = readFileSync(new URL('./corpus/corpus.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as CorpusRecord);

describe('labelled corpus', () => {
  it('is exactly what the seeded generator produces', () => {
    expect(generateCorpus()).toEqual(committed);
  });

  it('has recall >= 99% on sensitive samples and false positives <= 1% on benign text', () => {
    const redactor = createRedactor();
    const perRule = new Map<string, { total: number; found: number }>();
    let benign = 0;
    let falsePositives = 0;
    for (const record of committed) {
      const { text, counts } = redactor.redact(record.text);
      if (record.label === 'sensitive') {
        const stat = perRule.get(record.rule!) ?? { total: 0, found: 0 };
        stat.total++;
        if (!text.includes(record.value!) && Object.keys(counts).length > 0) stat.found++;
        perRule.set(record.rule!, stat);
      } else {
        benign++;
        if (Object.keys(counts).length > 0) falsePositives++;
      }
    }
    const total = [...perRule.values()].reduce((n, s) => n + s.total, 0);
    const found = [...perRule.values()].reduce((n, s) => n + s.found, 0);
    const recall = found / total;
    const fpr = falsePositives / benign;
    const lines = [...perRule].map(([rule, s]) => `  ${rule}: ${s.found}/${s.total}`);
    console.info(
      `redaction corpus: recall ${(recall * 100).toFixed(2)}% (${found}/${total}), ` +
        `false positives ${(fpr * 100).toFixed(2)}% (${falsePositives}/${benign})\n${lines.join('\n')}`,
    );
    expect(perRule.size).toBe(20);
    expect(benign).toBeGreaterThanOrEqual(2000);
    expect(recall).toBeGreaterThanOrEqual(0.99);
    expect(fpr).toBeLessThanOrEqual(0.01);
  });
});
