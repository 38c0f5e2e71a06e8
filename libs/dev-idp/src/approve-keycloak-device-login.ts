import { BrowserSession, DeviceLoginError, escapeRegExp, inputValue, unescapeHtml, type ApproveDeviceLoginOptions, type BrowsedPage, type DeviceLoginResult } from './approve-device-login';

/**
 * The browserless "user at the browser" step of the device flow against a Keycloak realm
 * (Keycloak 26's own login theme): opens the verification page with the user code, signs in
 * with username + password, and answers the consent page with Yes (or No when `deny` is set).
 * Keycloak names each page in `<body data-page-id>`; `issuer` is the realm's issuer
 * (`https://host/realms/<realm>`).
 *
 * @throws DeviceLoginError with code invalid_credentials | invalid_user_code | idp_unreachable | unexpected_page
 */
export async function approveKeycloakDeviceLogin(options: ApproveDeviceLoginOptions): Promise<DeviceLoginResult> {
  const browser = new BrowserSession(options.issuer, options.fetch ?? fetch, options.timeoutMs ?? 10_000);
  const verificationUri = new URL(options.verificationUri ?? `${options.issuer.replace(/\/$/, '')}/device`);
  verificationUri.searchParams.set('user_code', options.userCode);

  // 1. the code is taken from the link; a wrong one comes back as the code entry page with an error
  let page = await browser.open(verificationUri.href);
  if (pageId(page) === 'login-login-oauth2-device-verify-user-code') {
    throw new DeviceLoginError('invalid_user_code', `the identity provider refused the user code (${feedback(page) ?? 'no reason given'})`);
  }
  // 2. sign in (skipped when the browser session is signed in already)
  if (pageId(page) === 'login-login') {
    page = await browser.post(page, requireAction(page, 'kc-form-login'), { username: options.username, password: options.password, credentialId: '' });
    if (pageId(page) === 'login-login') throw new DeviceLoginError('invalid_credentials', `the identity provider rejected the sign-in: ${feedback(page) ?? 'no reason given'}`);
  }
  // 3. consent: Keycloak asks for every device grant
  expectPage(page, 'login-login-oauth-grant');
  const answer: Record<string, string> = options.deny ? { cancel: 'No' } : { accept: 'Yes' };
  page = await browser.post(page, requireAction(page), { code: requireInput(page, 'code'), ...answer });
  if (options.deny) return { outcome: 'denied' };
  // 4. "Device Login Successful" (an info page)
  if (pageId(page) !== 'login-info' || !/device/i.test(text(page))) throw unexpected(page, 'the device login success page');
  return { outcome: 'approved' };
}

function pageId(page: BrowsedPage): string | undefined {
  const match = /<body[^>]*\bdata-page-id="([^"]*)"/i.exec(page.html);
  return match?.[1];
}

/** The message Keycloak shows on a form that failed (wrong password, unknown code). */
function feedback(page: BrowsedPage): string | undefined {
  const match = /<span[^>]*\bid="input-error[^"]*"[^>]*>([\s\S]*?)<\/span>/i.exec(page.html) ?? /<span class="[^"]*kc-feedback-text[^"]*">([\s\S]*?)<\/span>/i.exec(page.html);
  return match?.[1] === undefined ? undefined : unescapeHtml(match[1].replace(/<[^>]*>/g, '').trim());
}

function text(page: BrowsedPage): string {
  return page.html.replace(/<script[\s\S]*?<\/script>/gi, ' ').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
}

/** The action of the form with `id`, or of the page's only form. */
function requireAction(page: BrowsedPage, id?: string): string {
  const pattern = id === undefined ? /<form[^>]*\baction="([^"]*)"/i : new RegExp(`<form[^>]*\\bid="${escapeRegExp(id)}"[^>]*\\baction="([^"]*)"`, 'i');
  const match = pattern.exec(page.html);
  if (match?.[1] === undefined) throw unexpected(page, id === undefined ? 'a page with a form' : `a page with form ${id}`);
  return unescapeHtml(match[1]);
}

function requireInput(page: BrowsedPage, name: string): string {
  const value = inputValue(page.html, name) ?? new RegExp(`<input[^>]*\\bname="${escapeRegExp(name)}"[^>]*\\bvalue="([^"]*)"`, 'i').exec(page.html)?.[1];
  if (value === undefined) throw unexpected(page, `a page with a ${name} field`);
  return value;
}

function expectPage(page: BrowsedPage, expected: string): void {
  if (pageId(page) !== expected) throw unexpected(page, `the ${expected} page`);
}

function unexpected(page: BrowsedPage, expected: string): DeviceLoginError {
  const message = feedback(page);
  return new DeviceLoginError(
    'unexpected_page',
    `expected ${expected}, got ${pageId(page) ?? 'an unknown page'}${message ? ` ("${message}")` : ''} (HTTP ${page.status} at ${new URL(page.url).pathname})`,
  );
}
