// The audit viewer (GET /) in headless Chromium (Debian's `chromium`, driven by
// playwright-core): load it, give it the reader key, filter, open an event, see a new event
// arrive live and the integrity status. Saves a screenshot and prints its path.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { createCloudEvent, type FedgateEvent } from '@fedgate/contracts';
import { findStackFile, readStackFile } from '@fedgate/stack';
import { uniqueSuffix, waitFor } from '@fedgate/testing';
import { publishEvents, testProducer } from './audit-test-support';

const CHROMIUM = '/usr/bin/chromium';
const stack = readStackFile();
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (scripts/test.sh installs Debian's chromium when run as root)`;

function decision(flwrAid: string, relation: string, object: string, allowed: boolean): FedgateEvent {
  return createCloudEvent({
    type: 'fedgate.authz.decision.v1',
    source: '/fedgate/authz-service',
    data: { decision_id: randomUUID(), flwr_aid: flwrAid, relation, object, allowed, endpoint: 'check', cached: false },
  });
}

describe('audit viewer in headless Chromium', { skip }, () => {
  it('loads, filters, opens an event, follows new ones and shows the integrity status', { timeout: 120_000 }, async (t) => {
    const flwrAid = `viewer-${uniqueSuffix()}`;
    const object = `run:${uniqueSuffix()}`;
    const producer = await testProducer(stack);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    try {
      const denied = decision(flwrAid, 'can_view', object, false);
      await publishEvents(producer, [decision(flwrAid, 'can_stop', object, true), denied]);

      // the stack's own CA signs the service certificate; the browser is told to accept it
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1500, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      const response = await page.goto(`${stack.services.audit}/`);
      assert.equal(response?.status(), 200);
      assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
      assert.equal(await page.title(), 'Fedgate audit log');

      await page.fill('#key-input', stack.admin_api_key);
      await page.click('#key-save');
      await page.waitForSelector('#events tbody tr');
      assert.equal(await page.evaluate('window.localStorage.length'), 0, 'the key is not kept beyond the tab');
      await page.locator('#integrity-status', { hasText: 'Chain intact' }).waitFor({ timeout: 60_000 });
      const objectsShown = () => page.locator('#events tbody tr td:nth-child(5)').allTextContents();

      // filter by object: exactly the two decisions
      await page.fill('#filter-object', object);
      await page.click('#apply-filters');
      await waitFor('the two decisions on the object', async () => {
        const shown = await objectsShown();
        return shown.length === 2 && shown.every((o) => o === object);
      });
      // and by outcome: the denied one
      await page.selectOption('#filter-outcome', 'denied');
      await page.click('#apply-filters');
      await waitFor('only the denied decision', async () => (await objectsShown()).length === 1);
      const cells = await page.locator('#events tbody tr td').allTextContents();
      assert.deepEqual(cells.slice(2), ['fedgate.authz.decision.v1', flwrAid, object, 'check.can_view', 'denied']);

      // open it: the detail panel shows its fields and data
      await page.click('#events tbody tr');
      await page.waitForSelector('#detail:not([hidden])');
      assert.equal(await page.textContent('#detail-fields dd[data-field="id"]'), denied.id);
      assert.equal(await page.textContent('#detail-fields dd[data-field="decision_id"]'), (denied.data as { decision_id: string }).decision_id);
      assert.match((await page.textContent('#detail-data')) ?? '', /"relation": "can_view"/);

      // live: a new matching event appears without reloading
      const later = decision(flwrAid, 'can_read_logs', object, false);
      await publishEvents(producer, [later]);
      await page.locator(`#events tbody tr[data-id="${later.id}"]`).waitFor({ timeout: 30_000 });
      assert.equal(await page.locator('#events tbody tr').count(), 2);

      const dir = path.join(path.dirname(findStackFile()), 'test-output');
      mkdirSync(dir, { recursive: true });
      const screenshot = path.join(dir, 'audit-viewer.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      t.diagnostic(`screenshot: ${screenshot}`);
      console.log(`audit viewer screenshot: ${screenshot}`);
      assert.deepEqual(errors, [], 'no script errors on the page');
    } finally {
      await browser.close();
      await producer.disconnect();
    }
  });
});
