import 'reflect-metadata';
import { runService, trustIdentityProviderCa } from '@fedgate/platform';
import { tokenServiceConfigSchema } from '@fedgate/service-config';
import { TokenServiceModule } from './app.module';

runService('token-service', tokenServiceConfigSchema, (config) => TokenServiceModule.register(config), trustIdentityProviderCa);
