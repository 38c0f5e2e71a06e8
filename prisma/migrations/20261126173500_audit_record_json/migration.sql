-- A record with text PostgreSQL refuses (U+0000 in jsonb or text, a lone surrogate) is stored
-- losslessly as JSON text instead of stalling the ingest of its partition.
ALTER TABLE "audit_event" ADD COLUMN "record_json" TEXT;
