#!/usr/bin/env bash
# docker-compose.yml's Kafka: the apache/kafka image's own start (/etc/kafka/docker/run), after
# what the image cannot do itself, as scripts/infra/kafka.sh does natively:
# - format a new storage with the SCRAM users (FEDGATE_KAFKA_SCRAM_USERS, each password in
#   FEDGATE_KAFKA_<NAME>_PASSWORD); the image's own format then finds it formatted;
# - write the client settings of the healthcheck (as fedgate-broker), mode 600.
# Only the KAFKA_* variables become broker properties; these FEDGATE_* ones do not.
set -euo pipefail

password_of() { local var; var=FEDGATE_KAFKA_$(printf '%s' "${1#fedgate-}" | tr 'a-z-' 'A-Z_')_PASSWORD; printf '%s' "${!var:?$var is not set}"; }

umask 077
printf '%s\n' 'security.protocol=SASL_PLAINTEXT' 'sasl.mechanism=SCRAM-SHA-512' \
  "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"fedgate-broker\" password=\"$(password_of fedgate-broker)\";" \
  >/tmp/fedgate-health.properties

data=${KAFKA_LOG_DIRS:?}
if [ ! -f "$data/meta.properties" ]; then
  # what formatting reads: the node, its roles and quorum, its listeners and the log directory
  props=$(mktemp)
  printf '%s\n' "process.roles=$KAFKA_PROCESS_ROLES" "node.id=$KAFKA_NODE_ID" \
    "controller.quorum.voters=$KAFKA_CONTROLLER_QUORUM_VOTERS" "controller.listener.names=$KAFKA_CONTROLLER_LISTENER_NAMES" \
    "listeners=$KAFKA_LISTENERS" "listener.security.protocol.map=$KAFKA_LISTENER_SECURITY_PROTOCOL_MAP" \
    "inter.broker.listener.name=$KAFKA_INTER_BROKER_LISTENER_NAME" "log.dirs=$data" >"$props"
  # the whole java command line through an argument file (java @file: its expansion stops at
  # the main class, so the class and its arguments are in it too): no password on a command line
  args=$(mktemp)
  printf '%s\n' -cp '"/opt/kafka/libs/*"' kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$props" --ignore-formatted >"$args"
  for user in ${FEDGATE_KAFKA_SCRAM_USERS:?}; do
    printf -- '--add-scram\n"SCRAM-SHA-512=[name=%s,iterations=8192,password=%s]"\n' "$user" "$(password_of "$user")" >>"$args"
  done
  echo "===> Formatting $data with the SCRAM users $FEDGATE_KAFKA_SCRAM_USERS"
  # its output lists the credentials' salts and keys: shown only if it fails
  java -Xmx256m "@$args" >"$props.log" 2>&1 || { cat "$props.log"; exit 1; }
  rm -f "$props" "$props.log" "$args"
fi
umask 022
exec /etc/kafka/docker/run
