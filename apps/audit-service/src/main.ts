import 'reflect-metadata';
import { runService } from '@fedgate/platform';
import { AuditServiceModule, auditServiceConfigSchema } from './app.module';

runService('audit-service', auditServiceConfigSchema, (config) => AuditServiceModule.register(config));
