# The pipeline on Google Cloud: what runs where, and the settings every part shares.
#
#   POST /jobs ─► orchestrator ─┐                      ┌─► reducer ──► job finished
#   jobs topic ─► orchestrator-jobs ─► shards topic ─► worker ─► shard-done topic
#                                                      │          (Firestore: shard records)
#                       dead-letter topic ◄────────────┴─► dead-letters
#   GET /jobs/{id} ─► status (reads Firestore)
#
# Every Pub/Sub-fed function is pushed to by a subscription this module owns
# (a direct Pub/Sub trigger), so each has an ack deadline, a retry policy and a
# dead-letter policy: an Eventarc trigger's own subscription can have none.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # the functions, keyed as in functions/functions.json (a test checks the two agree);
  # trigger "http" is called by people, any other names the topic (PipelineConfig.topics key) pushed to it
  functions = {
    "orchestrator"      = { entry_point = "orchestrator", trigger = "http", cpu = 1, memory_mib = 1024, timeout_s = 540, concurrency = 4, max_instances = var.orchestrator_max_instances }
    "orchestrator-jobs" = { entry_point = "orchestratorJobs", trigger = "jobs", cpu = 1, memory_mib = 1024, timeout_s = 540, concurrency = 1, max_instances = var.orchestrator_max_instances }
    "worker"            = { entry_point = "worker", trigger = "shards", cpu = var.worker_cpu, memory_mib = var.worker_memory_mib, timeout_s = var.worker_timeout_s, concurrency = var.worker_concurrency, max_instances = var.worker_max_instances }
    "reducer"           = { entry_point = "reducer", trigger = "shardDone", cpu = 1, memory_mib = var.reducer_memory_mib, timeout_s = 540, concurrency = 4, max_instances = var.reducer_max_instances }
    "dead-letters"      = { entry_point = "deadLetters", trigger = "deadLetters", cpu = 1, memory_mib = var.reducer_memory_mib, timeout_s = 540, concurrency = 1, max_instances = 2 }
    "status"            = { entry_point = "status", trigger = "http", cpu = 1, memory_mib = 512, timeout_s = 60, concurrency = 8, max_instances = var.status_max_instances }
  }
  pushed_functions = { for name, f in local.functions : name => f if f.trigger != "http" }

  # topic names, keyed as PipelineConfig.topics
  topics = {
    jobs        = "${var.name_prefix}-jobs"
    shards      = "${var.name_prefix}-shards"
    shardDone   = "${var.name_prefix}-shard-done"
    deadLetters = "${var.name_prefix}-dead-letters"
  }

  data_bucket        = var.data_bucket != "" ? var.data_bucket : "${var.project_id}-${var.name_prefix}-data"
  source_bucket      = var.source_bucket != "" ? var.source_bucket : "${var.project_id}-${var.name_prefix}-sources"
  readable_buckets   = toset(concat([local.data_bucket], var.readable_buckets))
  firestore_location = var.firestore_location != "" ? var.firestore_location : var.region
  # the database's resource name, as IAM conditions see it
  firestore_database_name = "projects/${var.project_id}/databases/${var.firestore_database}"

  # every 2nd-gen function also answers at this address; known before the
  # function exists, so the other functions can link to the status endpoint
  status_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.name_prefix}-status"

  # the functions' environment: every variable shared/pipeline/google/env.ts reads (ENV_VARS),
  # plus two for Node itself; a test checks both directions
  function_env = {
    NODE_ENV                    = "production"
    NODE_OPTIONS                = "--enable-source-maps"
    PHYSLITE_JOBS_COLLECTION    = var.jobs_collection
    FIRESTORE_DATABASE          = var.firestore_database
    PHYSLITE_TOPIC_JOBS         = google_pubsub_topic.topic["jobs"].name
    PHYSLITE_TOPIC_SHARDS       = google_pubsub_topic.topic["shards"].name
    PHYSLITE_TOPIC_SHARD_DONE   = google_pubsub_topic.topic["shardDone"].name
    PHYSLITE_TOPIC_DEAD_LETTERS = google_pubsub_topic.topic["deadLetters"].name
    PHYSLITE_STATUS_URL         = local.status_url
    PHYSLITE_SHARD_MB           = tostring(var.shard_mb)
    PHYSLITE_MAX_SHARDS         = tostring(var.max_shards)
    PHYSLITE_SHARD_DEADLINE_S   = tostring(var.shard_deadline_s)
    PHYSLITE_MAX_SHARD_ATTEMPTS = tostring(var.max_shard_attempts)
    PHYSLITE_READ_TIMEOUT_S     = tostring(var.read_timeout_s)
    PHYSLITE_READ_RETRIES       = tostring(var.read_retries)
    PHYSLITE_PUBLISH_TIMEOUT_S  = tostring(var.publish_timeout_s)
    PHYSLITE_COST_MODEL = jsonencode({
      prices = var.prices
      instances = {
        for name in ["worker", "orchestrator", "reducer"] :
        name => { vcpu = local.functions[name].cpu, memoryGiB = local.functions[name].memory_mib / 1024, concurrency = local.functions[name].concurrency }
      }
    })
  }
}

resource "google_project_service" "api" {
  for_each = toset([
    "artifactregistry.googleapis.com", # function images
    "cloudbuild.googleapis.com",       # builds the bundles into images
    "cloudfunctions.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ])
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
