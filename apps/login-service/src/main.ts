import 'reflect-metadata';
import { runService } from '@fedgate/platform';
import { LoginServiceModule, loginServiceConfigSchema } from './app.module';

runService('login-service', loginServiceConfigSchema, (config) => LoginServiceModule.register(config));
