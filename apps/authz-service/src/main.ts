import 'reflect-metadata';
import { runService } from '@fedgate/platform';
import { authzServiceConfigSchema } from '@fedgate/service-config';
import { AuthzServiceModule } from './app.module';

runService('authz-service', authzServiceConfigSchema, (config) => AuthzServiceModule.register(config));
