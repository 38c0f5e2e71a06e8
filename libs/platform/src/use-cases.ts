import type { InjectionToken, Provider } from '@nestjs/common';

/**
 * The one way an app wires its use cases: a lib's use cases each take that lib's one deps
 * object (`new RegisterRun(deps)`); the app provides the deps once under `deps` and names
 * the use cases here, so each is found by its class within one hop of the app module.
 */
export function provideUseCases<D>(deps: InjectionToken, useCases: ReadonlyArray<new (deps: D) => unknown>): Provider[] {
  return useCases.map((UseCase) => ({ provide: UseCase, useFactory: (value: D) => new UseCase(value), inject: [deps] }));
}
