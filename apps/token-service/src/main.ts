import 'reflect-metadata';
import { runService } from '@fedgate/platform';
import { TokenServiceModule, tokenServiceConfigSchema } from './app.module';

runService('token-service', tokenServiceConfigSchema, (config) => TokenServiceModule.register(config));
