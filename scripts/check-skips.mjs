// Fails the test run on any skip it does not expect: prints every skipped test with its reason
// (from node:test's TAP output), then compares the reasons with scripts/expected-skips.txt.
//   node scripts/check-skips.mjs <tap file>
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const expectedFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'expected-skips.txt');
const expected = new Set(
  readFileSync(expectedFile, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#')),
);
const skips = [...readFileSync(process.argv[2], 'utf8').matchAll(/^\s*ok \d+ - (.*?) # SKIP ?(.*)$/gm)].map(([, name, reason]) => ({ name, reason: reason.trim() }));
const unexpected = skips.filter((s) => !expected.has(s.reason));
console.log(`skipped: ${skips.length}${skips.length ? '' : ' (none)'}`);
for (const s of skips) console.log(`  ${expected.has(s.reason) ? 'expected  ' : 'UNEXPECTED'} ${s.name}: ${s.reason || '(no reason)'}`);
if (unexpected.length > 0) {
  console.error(`${unexpected.length} unexpected skip(s): a skip must be listed in scripts/expected-skips.txt`);
  process.exit(1);
}
