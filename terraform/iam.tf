# Least privilege, one service account per function:
#
#   function            Firestore   reads objects   publishes to
#   orchestrator        read/write  list + get      shards
#   orchestrator-jobs   read/write  list + get      shards
#   worker              read/write  get             shard-done
#   reducer             read/write  -               -
#   dead-letters        read/write  -               shard-done
#   status              read only   -               -
#
# Firestore roles are granted on the project (Firestore has no per-collection
# IAM), with an IAM condition naming the pipeline's database, so the functions
# cannot touch another database of the project (firestore_grants_database_only).
# The build account (functions.tf) writes build logs and images and reads the
# bundles; the push account (pubsub.tf) may only invoke the pushed functions.

locals {
  firestore_role = {
    "orchestrator"      = "roles/datastore.user"
    "orchestrator-jobs" = "roles/datastore.user"
    "worker"            = "roles/datastore.user"
    "reducer"           = "roles/datastore.user"
    "dead-letters"      = "roles/datastore.user"
    "status"            = "roles/datastore.viewer"
  }
  object_readers = ["orchestrator", "orchestrator-jobs", "worker"]
  publishes_to = {
    "orchestrator"      = ["shards"]
    "orchestrator-jobs" = ["shards"]
    "worker"            = ["shardDone"]
    "dead-letters"      = ["shardDone"]
  }
}

resource "google_project_iam_member" "firestore" {
  for_each = local.firestore_role
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
  dynamic "condition" {
    for_each = var.firestore_grants_database_only ? [local.firestore_database_name] : []
    content {
      title       = "pipeline database only"
      description = "the Firestore database the pipeline keeps its state in"
      # the database itself, and (should a check name them) its documents
      expression = "resource.name == \"${condition.value}\" || resource.name.startsWith(\"${condition.value}/\")"
    }
  }
}

resource "google_storage_bucket_iam_member" "reads_objects" {
  for_each = { for pair in setproduct(local.object_readers, local.readable_buckets) : "${pair[0]} ${pair[1]}" => { function = pair[0], bucket = pair[1] } }
  bucket   = each.value.bucket
  role     = "roles/storage.objectViewer"
  member   = "serviceAccount:${google_service_account.function[each.value.function].email}"
  # the data bucket may be created in the same apply
  depends_on = [google_storage_bucket.data]
}

resource "google_pubsub_topic_iam_member" "publishes" {
  for_each = merge([for name, topics in local.publishes_to : { for t in topics : "${name} ${t}" => { function = name, topic = t } }]...)
  project  = var.project_id
  topic    = google_pubsub_topic.topic[each.value.topic].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.function[each.value.function].email}"
}
