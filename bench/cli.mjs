// Small helpers the bench scripts share: options and the shuffled order of questions.
import { readFileSync } from 'node:fs';

/**
 * `--name value` / `--name=value` for each name of `defaults`; `--help` prints the script's
 * leading `//` comment block (`scriptUrl`: its import.meta.url) and exits.
 */
export function parseArgs(argv, defaults, scriptUrl) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') {
      console.log(readFileSync(new URL(scriptUrl), 'utf8').split('\n').slice(1).filter((l, k, all) => all.slice(0, k + 1).every((x) => x.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in defaults)) throw new Error(`unknown option ${argv[i]} (see --help)`);
    out[m[1]] = m[2] ?? argv[++i];
  }
  return out;
}

/** Fisher–Yates, in place. */
export function shuffle(list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
}
