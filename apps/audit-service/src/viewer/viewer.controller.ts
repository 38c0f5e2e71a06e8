import { Controller, Get, Header } from '@nestjs/common';
import { API_PATHS } from '@fedgate/contracts';
import { VIEWER_CSS } from './viewer-styles';
import { VIEWER_HTML } from './viewer-page';
import { VIEWER_JS } from './viewer-script';

// Only the service's own script and styles; no inline code, no framing, no referrer leaks.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** GET / — the audit viewer for people. Public static files; the data calls carry the reader key. */
@Controller()
export class ViewerController {
  @Get(API_PATHS.audit.viewer)
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', CSP)
  @Header('x-content-type-options', 'nosniff')
  @Header('referrer-policy', 'no-referrer')
  page(): string {
    return VIEWER_HTML;
  }

  @Get('viewer/viewer.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('x-content-type-options', 'nosniff')
  script(): string {
    return VIEWER_JS;
  }

  @Get('viewer/viewer.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('x-content-type-options', 'nosniff')
  styles(): string {
    return VIEWER_CSS;
  }
}
