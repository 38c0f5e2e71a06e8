import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  ResourcePatternTypes,
  type AclEntry,
  type AclFilter,
} from 'kafkajs';
import { KAFKA_SERVICE_PRINCIPAL_NAMES, kafkaAclBindings, type KafkaAclBinding } from '@fedgate/contracts';
import { KafkaSettings, kafkaClientConfig, kafkaLogCreator } from './kafka-settings';
import { ensureTopics } from './topics';

export interface AclChanges {
  created: number;
  deleted: number;
  kept: number;
}

function toEntry(binding: KafkaAclBinding): AclEntry {
  return {
    principal: binding.principal,
    host: '*',
    resourceType: AclResourceTypes[binding.resourceType],
    resourceName: binding.resourceName,
    resourcePatternType: ResourcePatternTypes[binding.patternType],
    operation: AclOperationTypes[binding.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}

const keyOf = (e: AclEntry): string => [e.principal, e.host, e.resourceType, e.resourcePatternType, e.resourceName, e.operation, e.permissionType].join('|');

/**
 * Makes the broker's ACLs of the service principals exactly `kafkaAclBindings()` (the topic
 * catalogue's): creates the catalogue's topics, adds missing ACLs and deletes any other ACL of
 * those principals (a topic or grant removed from the catalogue loses its ACLs). Idempotent.
 * Needs a principal that may alter ACLs: the operator.
 */
export async function applyKafkaAcls(settings: KafkaSettings, bindings: readonly KafkaAclBinding[] = kafkaAclBindings()): Promise<AclChanges> {
  await ensureTopics(settings);
  const admin = new Kafka({ ...kafkaClientConfig(settings), logCreator: kafkaLogCreator }).admin();
  await admin.connect();
  try {
    const wanted = new Map(bindings.map((b) => [keyOf(toEntry(b)), toEntry(b)]));
    const existing: AclEntry[] = [];
    for (const principal of KAFKA_SERVICE_PRINCIPAL_NAMES) {
      const { resources } = await admin.describeAcls(anyAclOf(`User:${principal}`));
      for (const { acls, ...resource } of resources) for (const acl of acls) existing.push({ ...resource, ...acl });
    }
    const stale = existing.filter((e) => !wanted.has(keyOf(e)));
    const present = new Set(existing.map(keyOf));
    const missing = [...wanted].filter(([key]) => !present.has(key)).map(([, entry]) => entry);
    if (stale.length > 0) await admin.deleteAcls({ filters: stale.map((e): AclFilter => ({ ...e })) });
    if (missing.length > 0) await admin.createAcls({ acl: missing });
    return { created: missing.length, deleted: stale.length, kept: wanted.size - missing.length };
  } finally {
    await admin.disconnect();
  }
}

function anyAclOf(principal: string): AclFilter {
  return {
    principal,
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  };
}
