import { z } from 'zod';

/**
 * CloudEvents 1.0 envelope in structured JSON mode: the Kafka message value is
 * the whole event, the Kafka key is `subject` so one entity's events stay in
 * order on one partition.
 */
export const CLOUDEVENTS_SPEC_VERSION = '1.0';
export const EVENT_DATA_CONTENT_TYPE = 'application/json';
/** Content type of a structured-mode CloudEvent (Kafka header `content-type`). */
export const CLOUDEVENTS_JSON_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export interface CloudEvent<TType extends string = string, TData = unknown> {
  specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  /** Unique per event (a UUID); consumers are idempotent on it. */
  id: string;
  /** URI-reference of the producer, e.g. `/fedgate/login-service`. */
  source: string;
  type: TType;
  /** RFC 3339 timestamp of the occurrence. */
  time: string;
  /** The entity the event is about, e.g. `flwr_aid:alice`, `run:42`; also the Kafka key. */
  subject: string;
  datacontenttype: typeof EVENT_DATA_CONTENT_TYPE;
  data: TData;
}

const noWhitespace = /^[^\s\p{Cc}]+$/u;

/** The envelope with `data` left unchecked; per-type data validation is in events.ts. */
export const CloudEventEnvelopeSchema = z.object({
  specversion: z.literal(CLOUDEVENTS_SPEC_VERSION),
  id: z.string().min(1).max(256),
  source: z.string().min(1).max(1024).regex(noWhitespace, 'must be a URI-reference without whitespace'),
  type: z.string().min(1).max(256),
  time: z.iso.datetime({ offset: true }),
  subject: z.string().min(1).max(512).regex(noWhitespace, 'must not contain whitespace'),
  datacontenttype: z.literal(EVENT_DATA_CONTENT_TYPE),
  data: z.unknown().refine((data) => data !== undefined, { message: 'data is required' }),
});
export type CloudEventEnvelope = CloudEvent<string, unknown>;
