// Small self-contained HTML pages (no external fonts or scripts: the dev IdP runs offline).
// Every page carries <meta name="dev-idp-page"> and, on failure, <meta name="dev-idp-error">
// so the browserless sign-in (approveDeviceLogin) recognises pages without scraping prose.

/** Stable page identifiers, also read by approveDeviceLogin. */
export const DevIdpPage = {
  deviceCodeInput: 'device-code-input',
  deviceCodeConfirm: 'device-code-confirm',
  login: 'login',
  deviceSuccess: 'device-success',
  error: 'error',
} as const;
export type DevIdpPageName = (typeof DevIdpPage)[keyof typeof DevIdpPage];

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

const stylesheet = `
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:40px 0}
main{max-width:340px;margin:0 auto;background:#fff;padding:24px 32px;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:1.5em;font-weight:400;text-align:center}
label{display:block;margin:12px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;height:38px;padding:0 8px;font-size:16px}
button{width:100%;height:36px;margin-top:16px;font-size:14px;cursor:pointer}
button.primary{background:#2f6fde;color:#fff;border:0}
button.secondary{background:none;border:1px solid #bbb;color:#444}
p.error{color:#c62828}
code{font-size:1.6em;display:block;text-align:center;margin:12px 0}
`;

interface PageParts {
  readonly page: DevIdpPageName;
  readonly title: string;
  readonly errorCode?: string;
  readonly content: string;
}

function renderPage({ page, title, errorCode, content }: PageParts): string {
  const errorMeta = errorCode === undefined ? '' : `\n<meta name="dev-idp-error" content="${escapeHtml(errorCode)}">`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="dev-idp-page" content="${page}">${errorMeta}
<title>${escapeHtml(title)} · Fedgate dev IdP</title>
<style>${stylesheet}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${content}
</main>
</body>
</html>`;
}

/** Error codes the device code input page can show, mapped from oidc-provider's re-render errors. */
export type DeviceCodeInputError =
  | 'invalid_user_code'
  | 'expired_user_code'
  | 'used_user_code'
  | 'access_denied'
  | 'too_many_attempts'
  | 'request_failed';

const deviceCodeInputMessages: Record<DeviceCodeInputError, string> = {
  invalid_user_code: 'The code you entered is incorrect. Try again.',
  expired_user_code: 'The code you entered has expired. Start the sign-in on your device again.',
  used_user_code: 'The code you entered has already been used.',
  too_many_attempts: 'Too many incorrect codes from your address. Wait a few minutes, then try again.',
  access_denied: 'The sign-in request was cancelled. You can close this page.',
  request_failed: 'There was an error processing your request.',
};

/** `form` is oidc-provider's own form markup (action + hidden xsrf + user_code input). */
export function deviceCodeInputPage(form: string, errorCode?: DeviceCodeInputError): string {
  const message =
    errorCode === undefined
      ? '<p>Enter the code displayed on your device.</p>'
      : `<p class="error">${escapeHtml(deviceCodeInputMessages[errorCode])}</p>`;
  return renderPage({
    page: DevIdpPage.deviceCodeInput,
    title: 'Device sign-in',
    ...(errorCode === undefined ? {} : { errorCode }),
    content: `${message}
${form}
<button class="primary" type="submit" form="op.deviceInputForm">Continue</button>`,
  });
}

/** `form` is oidc-provider's confirm form (hidden xsrf, user_code, confirm=yes). */
export function deviceCodeConfirmPage(form: string, clientName: string, userCode: string): string {
  return renderPage({
    page: DevIdpPage.deviceCodeConfirm,
    title: 'Confirm device',
    content: `<p><strong>${escapeHtml(clientName)}</strong> wants to sign you in. Check that your device shows this code:</p>
<code>${escapeHtml(userCode)}</code>
${form}
<button class="primary" type="submit" form="op.deviceConfirmForm">Continue</button>
<button class="secondary" type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
  });
}

export interface LoginPageOptions {
  readonly interactionUid: string;
  readonly clientName: string;
  readonly username?: string;
  readonly errorCode?: 'invalid_credentials';
}

export function loginPage({ interactionUid, clientName, username, errorCode }: LoginPageOptions): string {
  const base = `/interaction/${encodeURIComponent(interactionUid)}`;
  const message =
    errorCode === undefined
      ? `<p>Sign in to continue to <strong>${escapeHtml(clientName)}</strong>.</p>`
      : '<p class="error">Invalid username or password.</p>';
  return renderPage({
    page: DevIdpPage.login,
    title: 'Sign in',
    ...(errorCode === undefined ? {} : { errorCode }),
    content: `${message}
<form id="login-form" method="post" action="${base}/login" autocomplete="off">
<label for="username">Username</label>
<input id="username" type="text" name="username" value="${escapeHtml(username ?? '')}" required autofocus>
<label for="password">Password</label>
<input id="password" type="password" name="password" required>
<button class="primary" type="submit">Sign in</button>
</form>
<form id="cancel-form" method="post" action="${base}/abort">
<button class="secondary" type="submit">Cancel</button>
</form>`,
  });
}

export function deviceSuccessPage(clientName: string): string {
  return renderPage({
    page: DevIdpPage.deviceSuccess,
    title: 'Sign-in successful',
    content: `<p>You are signed in to <strong>${escapeHtml(clientName)}</strong>. You can close this page and return to your device.</p>`,
  });
}

export function errorPage(errorCode: string, description: string | undefined): string {
  return renderPage({
    page: DevIdpPage.error,
    title: 'Something went wrong',
    errorCode,
    content: `<p class="error">${escapeHtml(errorCode)}</p>${
      description === undefined ? '' : `<p>${escapeHtml(description)}</p>`
    }`,
  });
}
