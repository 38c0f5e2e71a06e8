import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { routePattern } from '@fedgate/contracts';
import { OpenApiController } from './openapi.controller';
import { OpsController } from './ops.controller';

/** The controllers PlatformModule adds to every service that has an OpenAPI document. */
export const PLATFORM_CONTROLLERS: readonly Type<unknown>[] = [OpsController, OpenApiController];

/** `METHOD /path/:param` for each route the controllers declare, as Nest registers them with Fastify. */
export function servedRoutes(controllers: readonly Type<unknown>[]): string[] {
  const routes: string[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '/');
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      if (method === undefined || path === undefined) continue;
      const joined = `/${[base, path].map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`;
      routes.push(`${RequestMethod[method]} ${joined}`);
    }
  }
  return routes.sort();
}

/** `METHOD /path/:param` for each operation of an OpenAPI document (contracts' openApiDocument). */
export function documentedRoutes(document: Readonly<Record<string, unknown>>): string[] {
  return Object.entries((document['paths'] ?? {}) as Record<string, Record<string, unknown>>)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${routePattern(path)}`))
    .sort();
}
