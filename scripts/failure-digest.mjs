// After a failed run: one line per failed test with the start of its error, in run order, and the
// last error lines of each service's log (Fedgate's own, not the Kafka client's), so the first failure's cause shows in the end of the
// output (CI keeps only that much) even when many failures follow it.
//   node scripts/failure-digest.mjs <tap file> <service run dir>
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const MAX_TESTS = 20;
const WIDTH = 240;
const [tapFile, runDir] = process.argv.slice(2);
const clip = (s) => (s.length > WIDTH ? `${s.slice(0, WIDTH)}…` : s);

// node:test's TAP: "not ok N - name", then an indented YAML block with failureType and error
const lines = readFileSync(tapFile, 'utf8').split('\n');
const failed = [];
for (let i = 0; i < lines.length; i++) {
  const m = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
  if (!m) continue;
  let type = '';
  let error = '';
  for (let j = i + 1; j < lines.length && !/^\s*(not )?ok \d+ - /.test(lines[j]) && !/^\s*\.\.\.$/.test(lines[j]); j++) {
    const field = /^\s*(failureType|error): ?(.*)$/.exec(lines[j]);
    if (!field) continue;
    if (field[1] === 'failureType') type = field[2].replace(/'/g, '');
    else error = /^[|>]-?$/.test(field[2]) ? (lines[j + 1] ?? '').trim() : field[2].replace(/^'|'$/g, '');
  }
  // a suite fails because its tests did: those are listed themselves
  if (type !== 'subtestsFailed') failed.push(`${m[2]}: ${error || type}`);
}
console.log(`failed, in run order (${failed.length}${failed.length > MAX_TESTS ? `, the first ${MAX_TESTS}` : ''}):`);
for (const f of failed.slice(0, MAX_TESTS)) console.log(`  ${clip(f)}`);

if (runDir && existsSync(runDir)) {
  for (const file of readdirSync(runDir).filter((f) => /\.log(\.1)?$/.test(f)).sort()) {
    const errors = readFileSync(path.join(runDir, file), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"level":"error"') && !l.includes('"context":"kafkajs"')); // the client's own retries are noise here
    if (errors.length === 0) continue;
    console.log(`${file}: ${errors.length} error line(s), the last:`);
    for (const l of errors.slice(-3)) console.log(`  ${clip(l)}`);
  }
}
