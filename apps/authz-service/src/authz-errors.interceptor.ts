import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable, catchError, throwError } from 'rxjs';
import { toAuthzError } from '@fedgate/authz';

/** Applies the authorization service's error mapping (libs/authz toAuthzError) to every handler. */
@Injectable()
export class AuthzErrorsInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(catchError((err: unknown) => throwError(() => toAuthzError(err))));
  }
}
