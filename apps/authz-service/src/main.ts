import 'reflect-metadata';
import { runService } from '@fedgate/platform';
import { AuthzServiceModule, authzServiceConfigSchema } from './app.module';

runService('authz-service', authzServiceConfigSchema, (config) => AuthzServiceModule.register(config));
