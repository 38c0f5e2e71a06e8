import { DevIdpPage } from './html-pages';

/** Stable machine codes of a failed browserless sign-in. */
export type DeviceLoginErrorCode = 'invalid_credentials' | 'invalid_user_code' | 'idp_unreachable' | 'unexpected_page';

export class DeviceLoginError extends Error {
  override readonly name = 'DeviceLoginError';

  constructor(
    readonly code: DeviceLoginErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface ApproveDeviceLoginOptions {
  /** The dev IdP's issuer, e.g. https://127.0.0.1:14000. */
  readonly issuer: string;
  /** The user code the device showed (any case, with or without the dash). */
  readonly userCode: string;
  readonly username: string;
  readonly password: string;
  /** Press "Cancel" on the login page instead of signing in: the device then gets access_denied. */
  readonly deny?: boolean;
  /** Default `<issuer>/device`. */
  readonly verificationUri?: string;
  /** Per-request timeout; default 10 s. */
  readonly timeoutMs?: number;
  /** Default: the global fetch (trusts NODE_EXTRA_CA_CERTS, read at process start). */
  readonly fetch?: typeof fetch;
}

export interface DeviceLoginResult {
  readonly outcome: 'approved' | 'denied';
}

/**
 * The browserless "user at the browser" step of the device flow against the dev IdP:
 * opens the verification page, submits the user code (with the page's xsrf token),
 * confirms the device, signs in with username + password (consent is automatic) and
 * checks the success page — or presses Cancel when `deny` is set.
 *
 * TLS: the global fetch only trusts the dev CA when the process was started with
 * NODE_EXTRA_CA_CERTS=.fedgate/tls/ca.pem (it is read once at start); in-process tests can
 * use trustCertificateAuthorityForFetch() or pass their own `fetch`.
 *
 * @throws DeviceLoginError with code invalid_credentials | invalid_user_code | idp_unreachable | unexpected_page
 */
export async function approveDeviceLogin(options: ApproveDeviceLoginOptions): Promise<DeviceLoginResult> {
  const browser = new BrowserSession(options.issuer, options.fetch ?? fetch, options.timeoutMs ?? 10_000);
  const verificationUri = options.verificationUri ?? new URL('/device', options.issuer).href;

  // 1. the code entry page
  let page = await browser.open(verificationUri);
  expectPage(page, DevIdpPage.deviceCodeInput);
  page = await browser.submit(page, 'op.deviceInputForm', {
    xsrf: requireField(page, 'xsrf'),
    user_code: options.userCode,
  });

  // 2. "is this the code on your device?" (wrong codes come back as the entry page with an error)
  if (page.name === DevIdpPage.deviceCodeInput && page.errorCode !== undefined) {
    throw new DeviceLoginError('invalid_user_code', userCodeErrorMessage(page.errorCode));
  }
  expectPage(page, DevIdpPage.deviceCodeConfirm);
  page = await browser.submit(page, 'op.deviceConfirmForm', {
    xsrf: requireField(page, 'xsrf'),
    user_code: requireField(page, 'user_code'),
    confirm: 'yes',
  });

  // 3. sign in (or cancel); consent follows automatically through redirects
  expectPage(page, DevIdpPage.login);
  if (options.deny) {
    page = await browser.submit(page, 'cancel-form', {});
    if (page.name === DevIdpPage.deviceCodeInput && page.errorCode === 'access_denied') return { outcome: 'denied' };
    throw unexpectedPage(page, 'the cancelled-sign-in page');
  }
  page = await browser.submit(page, 'login-form', { username: options.username, password: options.password });
  if (page.name === DevIdpPage.login && page.errorCode === 'invalid_credentials') {
    throw new DeviceLoginError('invalid_credentials', 'the identity provider rejected the username or password');
  }
  expectPage(page, DevIdpPage.deviceSuccess);
  return { outcome: 'approved' };
}

function userCodeErrorMessage(pageErrorCode: string): string {
  switch (pageErrorCode) {
    case 'expired_user_code':
      return 'the user code has expired';
    case 'used_user_code':
      return 'the user code has already been used';
    case 'invalid_user_code':
      return 'the identity provider does not know this user code';
    default:
      return `the identity provider refused the user code (${pageErrorCode})`;
  }
}

export interface BrowsedPage {
  readonly url: string;
  readonly status: number;
  readonly html: string;
  /** <meta name="dev-idp-page"> */
  readonly name: string | undefined;
  /** <meta name="dev-idp-error"> */
  readonly errorCode: string | undefined;
}

/**
 * fetch with a one-origin cookie jar and hand-followed redirects (so every Set-Cookie lands):
 * the browser of every browserless sign-in (the dev IdP's here, Keycloak's in approve-keycloak-device-login.ts).
 */
export class BrowserSession {
  private readonly cookies = new Map<string, string>();
  private readonly origin: string;

  constructor(
    issuer: string,
    private readonly fetchImplementation: typeof fetch,
    private readonly timeoutMs: number,
  ) {
    try {
      this.origin = new URL(issuer).origin;
    } catch (cause: unknown) {
      throw new DeviceLoginError('idp_unreachable', `issuer ${JSON.stringify(issuer)} is not a URL`, { cause });
    }
  }

  async submit(page: BrowsedPage, formId: string, fields: Record<string, string>): Promise<BrowsedPage> {
    const action = formAction(page.html, formId);
    if (action === undefined) throw unexpectedPage(page, `a page with form ${formId}`);
    return this.post(page, action, fields);
  }

  /** Posts `fields` to a form action of `page` (relative to the page's URL). */
  async post(page: BrowsedPage, action: string, fields: Record<string, string>): Promise<BrowsedPage> {
    return this.open(new URL(action, page.url).href, new URLSearchParams(fields));
  }

  async open(url: string, form?: URLSearchParams): Promise<BrowsedPage> {
    let currentUrl = url;
    let body = form;
    for (let hop = 0; hop <= 10; hop += 1) {
      if (new URL(currentUrl).origin !== this.origin) {
        throw new DeviceLoginError('unexpected_page', `the identity provider redirected to another origin (${new URL(currentUrl).origin})`);
      }
      const response = await this.request(currentUrl, body);
      this.storeCookies(response.headers.getSetCookie());
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel();
        // 302/303 after a form post continue as GET, as browsers do.
        currentUrl = new URL(location, currentUrl).href;
        body = undefined;
        continue;
      }
      const html = await response.text();
      return {
        url: currentUrl,
        status: response.status,
        html,
        name: metaContent(html, 'dev-idp-page'),
        errorCode: metaContent(html, 'dev-idp-error'),
      };
    }
    throw new DeviceLoginError('unexpected_page', 'the identity provider redirected more than 10 times');
  }

  private async request(url: string, form: URLSearchParams | undefined): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/html' };
    if (this.cookies.size > 0) {
      headers['cookie'] = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    try {
      return await this.fetchImplementation(url, {
        method: form === undefined ? 'GET' : 'POST',
        headers,
        ...(form === undefined ? {} : { body: form }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause: unknown) {
      throw new DeviceLoginError('idp_unreachable', unreachableMessage(this.origin, cause), { cause });
    }
  }

  // The jar ignores Path/Domain: one origin, and the newest cookie of a name is the one wanted.
  private storeCookies(setCookieHeaders: string[]): void {
    for (const header of setCookieHeaders) {
      const [pair = '', ...attributes] = header.split(';');
      const separator = pair.indexOf('=');
      if (separator <= 0) continue;
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key = '', attributeValue = ''] = attribute.split('=').map((part) => part.trim());
        if (/^max-age$/i.test(key)) return Number(attributeValue) <= 0;
        if (/^expires$/i.test(key)) return Date.parse(attributeValue) <= Date.now();
        return false;
      });
      if (value === '' || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

function unreachableMessage(origin: string, cause: unknown): string {
  const causeCode = errorCode(cause) ?? errorCode((cause as { cause?: unknown } | null)?.cause);
  const name = cause instanceof Error ? cause.name : 'Error';
  const detail = causeCode ?? name;
  const hint = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL/i.test(detail)
    ? ' (the CA is not trusted: start node with NODE_EXTRA_CA_CERTS=<ca.pem>)'
    : '';
  return `cannot reach the identity provider at ${origin}: ${detail}${hint}`;
}

function errorCode(value: unknown): string | undefined {
  const code = (value as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function expectPage(page: BrowsedPage, expected: string): void {
  if (page.name !== expected) throw unexpectedPage(page, `the ${expected} page`);
}

export function unexpectedPage(page: BrowsedPage, expected: string): DeviceLoginError {
  const seen = page.name ?? 'an unknown page';
  const error = page.errorCode === undefined ? '' : ` with error ${page.errorCode}`;
  return new DeviceLoginError(
    'unexpected_page',
    `expected ${expected}, got ${seen}${error} (HTTP ${page.status} at ${new URL(page.url).pathname})`,
  );
}

function requireField(page: BrowsedPage, fieldName: string): string {
  const value = inputValue(page.html, fieldName);
  if (value === undefined) throw unexpectedPage(page, `a page with a ${fieldName} field`);
  return value;
}

function metaContent(html: string, metaName: string): string | undefined {
  const match = new RegExp(`<meta\\s+name="${escapeRegExp(metaName)}"\\s+content="([^"]*)"`, 'i').exec(html);
  return match?.[1] === undefined ? undefined : unescapeHtml(match[1]);
}

export function inputValue(html: string, fieldName: string): string | undefined {
  const match = new RegExp(`<input[^>]*\\bname="${escapeRegExp(fieldName)}"[^>]*\\bvalue="([^"]*)"`, 'i').exec(html);
  return match?.[1] === undefined ? undefined : unescapeHtml(match[1]);
}

function formAction(html: string, formId: string): string | undefined {
  const match = new RegExp(`<form[^>]*\\bid="${escapeRegExp(formId)}"[^>]*\\baction="([^"]*)"`, 'i').exec(html);
  return match?.[1] === undefined ? undefined : unescapeHtml(match[1]);
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function unescapeHtml(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_entity, code: string) => String.fromCharCode(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_entity, code: string) => String.fromCharCode(parseInt(code, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
