/** README's failure-handling and security claims cite tests by name: every cited test exists where the legend says. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const FILES: Record<string, string> = {
  R: 'test/reliability.test.ts',
  F: 'test/faults.inprocess.test.ts',
  P: 'test/faults.test.ts',
  E: 'test/export-file.test.ts',
  C: 'test/connector.inprocess.test.ts',
  CE: 'test/connector.test.ts',
  D: 'test/driver.test.ts',
  U: 'test/units.test.ts',
  A: 'test/api-inprocess.test.ts',
};
const norm = (text: string): string => text.replace(/\s+/g, ' ');

describe('README', () => {
  it('cites only tests that exist, in the file its legend names', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const sources = new Map(Object.entries(FILES).map(([k, f]) => [k, norm(readFileSync(join(ROOT, f), 'utf8'))]));
    const cited = [...readme.matchAll(/\b(CE|[RFPECDUA]) "(.+?)"(?=[\s,.;)]|$)/gs)].map((m) => [m[1] ?? '', norm(m[2] ?? '')] as const);
    expect(cited.length).toBeGreaterThan(40);
    const missing = cited.filter(([k, name]) => name.length < 300 && !sources.get(k)?.includes(name));
    expect(missing).toEqual([]);
  });
});
