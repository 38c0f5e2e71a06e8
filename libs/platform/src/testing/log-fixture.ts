// A service built by createServiceApp for logging.spec.ts: it answers GET /hello and logs one
// line while it shuts down, after the HTTP server has closed (so only the exit hook can write it).
import 'reflect-metadata';
import { Controller, Get, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { createServiceApp } from '../bootstrap';
import { PlatformModule } from '../platform.module';

@Controller()
class HelloController {
  @Get('hello')
  hello() {
    return { hello: 'world' };
  }
}

@Injectable()
class LastWords implements OnApplicationShutdown {
  onApplicationShutdown(signal?: string) {
    new Logger('log-fixture').log(`stopped by ${signal}`);
  }
}

@Module({ imports: [PlatformModule.forRoot({ serviceName: 'log-fixture', logLevel: 'info' })], controllers: [HelloController], providers: [LastWords] })
class FixtureModule {}

void (async () => {
  const app = await createServiceApp(FixtureModule);
  await app.listen(Number(process.env.FIXTURE_PORT), '127.0.0.1');
  process.send?.('listening');
})();
