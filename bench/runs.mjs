// The set-up of bench/check and bench/authorize: real runs and shares through Fedgate's own write
// path (POST /v1/runs with the owner's token, PUT …/members with the owner's bearer token), then
// a wait until OpenFGA holds them.
import path from 'node:path';
import { builtLibraries } from './tokens.mjs';

// contracts' own naming, from the built library the services run
const { serviceRunObject } = builtLibraries(path.resolve(import.meta.dirname, '..'), 'authz-service').require('@fedgate/contracts');

/** Run `runId` as Fedgate asks OpenFGA about it: run:<service>/<id>, in the service of the stack's key. */
export const storedRun = (stack, runId) => serviceRunObject(stack.service_name, runId);

/**
 * Stops the bench unless OpenFGA, asked directly about `object` (`direct`: its answer to one
 * Check, with body), allows it as Fedgate does: else its limits would time questions about nothing.
 */
export function requireOpenFgaAllows(direct, object) {
  if (direct.status !== 200 || direct.body?.allowed !== true) throw new Error(`OpenFGA asked directly does not allow the bench's question about ${object}: ${direct.status} ${JSON.stringify(direct.body)}`);
}

/**
 * Registers `count` runs owned by the subject of `ownerToken` and shares every fifth with
 * `viewer`; resolves to the run ids once a check with the last write's consistency token sees them.
 * `fedgate`: a bench/http-pool.mjs jsonClient with the stack's key.
 */
export async function registerRuns(fedgate, { count, owner, ownerToken, viewer }) {
  const runs = [];
  let consistency;
  for (let i = 0; i < count; i++) {
    const runId = newRunId(i);
    const reg = await fedgate.call('POST', '/v1/runs', { run_id: runId, access_token: ownerToken });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
    consistency = reg.body.consistency_token;
    if (i % 5 === 0) {
      const share = await fedgate.call('PUT', `/v1/runs/${runId}/members/${viewer}`, { role: 'viewer' }, { authorization: `Bearer ${ownerToken}` });
      if (share.status !== 200) throw new Error(`share: ${share.status} ${JSON.stringify(share.body)}`);
      consistency = share.body.consistency_token;
    }
    runs.push(runId);
  }
  // a large setup can take the projector longer than one check waits (5 s): retry with the same token
  const { check: applied } = await checkOnceApplied(fedgate, { owner, runId: runs.at(-1), consistency, attempts: 60 });
  if (applied.status !== 200 || applied.body.allowed !== true) throw new Error(`setup not applied: ${JSON.stringify(applied.body)}`);
  return runs;
}

/** A run id not used before (digits, as Flower's are): the time and `i`. */
export const newRunId = (i) => `${Date.now()}${String(i).padStart(5, '0')}`.slice(0, 19);

/**
 * The owner's can_view check of `runId` with a write's consistency token, asked again while it
 * answers consistency_timeout (each waits FEDGATE_AUTHZ_CONSISTENCY_WAIT_MS), at most `attempts`
 * times: the last answer, and how many timed out.
 */
export async function checkOnceApplied(fedgate, { owner, runId, consistency, attempts }) {
  let check;
  let timeouts = 0;
  for (let attempt = 0; attempt < attempts; attempt++) {
    check = await fedgate.call('POST', '/v1/check', { flwr_aid: owner, relation: 'can_view', object: `run:${runId}`, consistency_token: consistency });
    if (check.body.error !== 'consistency_timeout') break;
    timeouts++;
  }
  return { check, timeouts };
}
