import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { FLOWER_CONFIG_FILE, flwrHome } from './flower-config';

/** flwr 1.26 moved connections to FLWR_HOME/config.toml and tokens to FLWR_HOME/credentials.yaml. */
export const CONFIG_TOML_SINCE: readonly [number, number] = [1, 26];

/** Which files a `flwr` release reads: `config-toml` (1.26+) or `pyproject` (1.22-1.25). */
export type FlwrLoginForm = 'config-toml' | 'pyproject';

export function loginFormOf(version: string): FlwrLoginForm {
  const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  return major > CONFIG_TOML_SINCE[0] || (major === CONFIG_TOML_SINCE[0] && minor >= CONFIG_TOML_SINCE[1]) ? 'config-toml' : 'pyproject';
}

/** The version of the `flwr` CLI on PATH (`flwr --version`), or undefined when there is none. */
export function installedFlwrVersion(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    const out = execFileSync('flwr', ['--version'], { env: { ...env, FLWR_TELEMETRY_ENABLED: '0' }, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return /Flower version: (\d+\.\d+\.\d+\S*)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The form the installed flwr reads: the release given (an option, FEDGATE_FLWR_VERSION), else
 * `flwr --version` on PATH; with no flwr at all, the form this machine is set up for (an app
 * pyproject.toml and no FLWR_HOME/config.toml: the pyproject form).
 */
export function flwrLoginForm(options: { flwrVersion?: string; app: string; env?: NodeJS.ProcessEnv }): { version?: string; form: FlwrLoginForm } {
  const env = options.env ?? process.env;
  const version = options.flwrVersion ?? (env.FEDGATE_FLWR_VERSION || undefined) ?? installedFlwrVersion(env);
  if (version !== undefined) return { version, form: loginFormOf(version) };
  const pyproject = existsSync(path.join(options.app, 'pyproject.toml')) && !existsSync(path.join(flwrHome(env), FLOWER_CONFIG_FILE));
  return { form: pyproject ? 'pyproject' : 'config-toml' };
}
