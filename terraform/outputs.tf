output "orchestrator_url" {
  description = "POST /jobs here (with an identity token) to start a job."
  value       = google_cloudfunctions2_function.function["orchestrator"].service_config[0].uri
}

output "status_url" {
  description = "GET /jobs/{id} here (with an identity token) for a job's progress, result and cost."
  value       = google_cloudfunctions2_function.function["status"].service_config[0].uri
}

output "status_link_base" {
  description = "The status endpoint's cloudfunctions.net address, used in the links the functions return."
  value       = local.status_url
}

output "jobs_topic" {
  description = "Publish a job request here: gcloud pubsub topics publish <topic> --message='{\"dataset\":[\"gs://…\"]}' (the same body as POST /jobs)."
  value       = google_pubsub_topic.topic["jobs"].name
}

output "shards_topic" {
  value = google_pubsub_topic.topic["shards"].name
}

output "shard_done_topic" {
  value = google_pubsub_topic.topic["shardDone"].name
}

output "dead_letters_topic" {
  value = google_pubsub_topic.topic["deadLetters"].name
}

output "data_bucket" {
  description = "Bucket for input data (scripts/upload-samples.sh puts the samples here)."
  value       = local.data_bucket
}

output "source_bucket" {
  value = google_storage_bucket.sources.name
}

output "project_id" {
  value = var.project_id
}

output "region" {
  value = var.region
}

output "service_accounts" {
  description = "The identity each function runs as."
  value       = { for name, sa in google_service_account.function : name => sa.email }
}
