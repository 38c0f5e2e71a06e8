import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import 'reflect-metadata';
import { Controller, Get, INestApplication, Module, Post } from '@nestjs/common';
import { createServiceApp } from './bootstrap';
import { PlatformModule } from './platform.module';
import { OVERLOAD_RETRY_AFTER_SECONDS } from './load-shedding';

const MAX_IN_FLIGHT = 4;

/** Requests to /slow wait here until the test lets them go: the work the service is busy with. */
const held: Array<() => void> = [];
let arrivals = 0;
let arrived: (() => void) | undefined;

@Controller()
class SlowController {
  @Post('slow')
  async slow() {
    arrivals++;
    arrived?.();
    await new Promise<void>((release) => held.push(release));
    return { done: true };
  }

  @Get('fast')
  fast() {
    return { done: true };
  }
}

@Module({ imports: [PlatformModule.forRoot({ serviceName: 'shed-test', logLevel: 'silent' })], controllers: [SlowController] })
class ShedModule {}

describe('load shedding (FEDGATE_MAX_IN_FLIGHT)', () => {
  let app: INestApplication;
  let base: string;
  before(async () => {
    app = await createServiceApp(ShedModule, { maxInFlight: MAX_IN_FLIGHT });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  after(() => app.close());

  it('past the bound answers 503 overloaded with Retry-After before any work, never a 500, and recovers', async () => {
    const allArrived = new Promise<void>((resolve) => {
      arrived = () => arrivals === MAX_IN_FLIGHT && resolve();
    });
    const busy = Array.from({ length: MAX_IN_FLIGHT }, () => fetch(`${base}/slow`, { method: 'POST' }));
    await allArrived;

    // the flood: every request beyond the bound, whatever its route, is refused at once
    const flood = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(`${base}/${i % 2 ? 'slow' : 'fast'}`, { method: i % 2 ? 'POST' : 'GET', headers: { 'content-type': 'application/json' }, body: i % 2 ? '{}' : undefined }),
      ),
    );
    assert.deepEqual([...new Set(flood.map((res) => res.status))], [503]);
    for (const res of flood) {
      assert.equal(res.headers.get('retry-after'), String(OVERLOAD_RETRY_AFTER_SECONDS));
      assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(((await res.json()) as { error: string }).error, 'overloaded');
    }
    assert.equal(arrivals, MAX_IN_FLIGHT, 'no shed request reached a handler');

    // liveness and scrapes are never shed: a busy service is not a dead one. They are known by
    // their path, whatever query follows; any other path with a query is shed as before
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/healthz?`)).status, 200);
    assert.equal((await fetch(`${base}/metrics?x=1`)).status, 200);
    assert.equal((await fetch(`${base}/fast?x=/metrics`)).status, 503);

    held.splice(0).forEach((release) => release());
    assert.deepEqual((await Promise.all(busy)).map((res) => res.status), Array(MAX_IN_FLIGHT).fill(201));

    // the slots are free again
    const after = await Promise.all(Array.from({ length: MAX_IN_FLIGHT }, () => fetch(`${base}/fast`)));
    assert.deepEqual(after.map((res) => res.status), Array(MAX_IN_FLIGHT).fill(200));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /fedgate_http_requests_total\{method="GET",route="\/fast",status="503",service="shed-test"\} 26/);
    assert.doesNotMatch(metrics, /status="500"/);
  });
});
