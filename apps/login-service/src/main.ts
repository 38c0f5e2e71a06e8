import 'reflect-metadata';
import { runService, trustIdentityProviderCa } from '@fedgate/platform';
import { loginServiceConfigSchema } from '@fedgate/service-config';
import { LoginServiceModule } from './app.module';

runService('login-service', loginServiceConfigSchema, (config) => LoginServiceModule.register(config), trustIdentityProviderCa);
