-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "audit_events" (
    "request_id" TEXT NOT NULL,
    "chain_id" TEXT NOT NULL,
    "chain_seq" BIGINT NOT NULL,
    "prev_hash" TEXT NOT NULL,
    "row_hash" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "trace_id" TEXT,
    "protocol" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "caller" TEXT,
    "auth_method" TEXT,
    "team" TEXT,
    "target" TEXT,
    "resource_kind" TEXT,
    "resource_name" TEXT,
    "resource_action" TEXT,
    "decision" TEXT,
    "reasons" TEXT[],
    "policy_revision" TEXT,
    "provider" TEXT,
    "model" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "status" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "error_code" TEXT,
    "error_reason" TEXT,
    "latency_us" BIGINT NOT NULL,
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "cached_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "reasoning_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_micro_usd" BIGINT NOT NULL DEFAULT 0,
    "price_id" TEXT,
    "detail" JSONB NOT NULL DEFAULT '{}',
    "capture" JSONB,
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("request_id")
);

-- CreateTable
CREATE TABLE "spend_daily" (
    "day" DATE NOT NULL,
    "team" TEXT NOT NULL,
    "caller" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "requests" BIGINT NOT NULL DEFAULT 0,
    "denied" BIGINT NOT NULL DEFAULT 0,
    "errors" BIGINT NOT NULL DEFAULT 0,
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "cached_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_micro_usd" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "spend_daily_pkey" PRIMARY KEY ("day","team","caller","model","provider")
);

-- CreateIndex
CREATE INDEX "audit_events_occurred_at_request_id_idx" ON "audit_events"("occurred_at" DESC, "request_id" DESC);

-- CreateIndex
CREATE INDEX "audit_events_caller_occurred_at_idx" ON "audit_events"("caller", "occurred_at" DESC);

-- CreateIndex
CREATE INDEX "audit_events_model_occurred_at_idx" ON "audit_events"("model", "occurred_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "audit_events_chain_id_chain_seq_key" ON "audit_events"("chain_id", "chain_seq");

-- CreateIndex
CREATE INDEX "spend_daily_day_idx" ON "spend_daily"("day");


-- Hand-written (Prisma cannot express triggers): the audit trail is append-only. The gateway only
-- ever inserts; an UPDATE, DELETE or TRUNCATE is refused, so changing history takes a deliberate
-- ALTER TABLE ... DISABLE TRIGGER by a table owner, which `tollgate audit verify` then still detects.
CREATE FUNCTION "audit_events_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP;
END;
$$;

CREATE TRIGGER "audit_events_append_only_rows" BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "audit_events_refuse_change"();

CREATE TRIGGER "audit_events_append_only_truncate" BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_refuse_change"();
