import 'reflect-metadata';
import { runService } from '@fedgate/platform';
import { auditServiceConfigSchema } from '@fedgate/service-config';
import { AuditServiceModule } from './app.module';

runService('audit-service', auditServiceConfigSchema, (config) => AuditServiceModule.register(config));
