import { CredentialsMethod, OpenFgaClient } from '@openfga/sdk';
import { httpReadinessCheck, ReadinessCheck } from '@fedgate/platform';

export interface OpenFgaSettings {
  /** e.g. http://127.0.0.1:18080 */
  url: string;
  /** One of the server's preshared keys. */
  apiKey: string;
  storeId?: string;
  authorizationModelId?: string;
}

/** An @openfga/sdk client authenticated with a preshared key. */
export function createOpenFgaClient(settings: OpenFgaSettings): OpenFgaClient {
  return new OpenFgaClient({
    apiUrl: settings.url,
    storeId: settings.storeId,
    authorizationModelId: settings.authorizationModelId,
    credentials: { method: CredentialsMethod.ApiToken, config: { token: settings.apiKey } },
    // decisions must fail fast (and closed) rather than hang a SuperLink call
    retryParams: { maxRetry: 1, minWaitInMs: 50 },
  });
}

/** OpenFGA is ready when its /healthz answers SERVING. */
export function openFgaReadinessCheck(url: string): ReadinessCheck {
  return httpReadinessCheck('openfga', `${url.replace(/\/$/, '')}/healthz`);
}

/** Finds the store with this name, or creates it; answers its id. */
export async function findOrCreateStore(client: OpenFgaClient, name: string): Promise<string> {
  let continuationToken: string | undefined;
  do {
    const page = await client.listStores({ continuationToken, pageSize: 100 });
    const found = page.stores.find((s) => s.name === name);
    if (found) return found.id;
    continuationToken = page.continuation_token || undefined;
  } while (continuationToken);
  return (await client.createStore({ name })).id;
}
