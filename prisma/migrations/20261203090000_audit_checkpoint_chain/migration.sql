-- Checkpoints form a chain of their own (each names the hash of the one signed before), as
-- CloudTrail's digest files do; checkpoints signed before this column existed keep NULL.
ALTER TABLE "audit_checkpoint" ADD COLUMN "prev_checkpoint_hash" CHAR(64);
