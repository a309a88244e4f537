# Topics, and one push subscription per Pub/Sub-fed function.
#
# Push requests wait at most the ack deadline (600 s, Pub/Sub's maximum), so
# the ordering is: shard deadline (480 s) < worker timeout (540 s) < ack
# deadline. A failed or timed-out push is retried with backoff; after
# dead_letter_max_delivery_attempts the message goes to the dead-letter topic,
# whose function records the shard as failed so the job can still finish.

resource "google_pubsub_topic" "topic" {
  for_each   = local.topics
  project    = var.project_id
  name       = each.value
  labels     = var.labels
  depends_on = [google_project_service.api]
}

resource "google_pubsub_subscription" "push" {
  for_each                   = local.pushed_functions
  project                    = var.project_id
  name                       = "${var.name_prefix}-${each.key}"
  topic                      = google_pubsub_topic.topic[each.value.trigger].id
  ack_deadline_seconds       = 600
  message_retention_duration = var.message_retention
  labels                     = var.labels

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  expiration_policy {
    ttl = "" # never expire for lack of traffic
  }

  push_config {
    # the Functions Framework turns a push into a CloudEvent and takes its
    # source from this path (without it, it logs a complaint per message)
    push_endpoint = "${google_cloudfunctions2_function.function[each.key].service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.topic[each.value.trigger].name}"
    oidc_token {
      service_account_email = google_service_account.push.email
      # Cloud Run checks the token's audience against the service's URL, without the path
      audience = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    }
  }

  # the dead letters' own subscription has no dead-letter topic: it would feed itself
  dynamic "dead_letter_policy" {
    for_each = each.value.trigger == "deadLetters" ? [] : [var.dead_letter_max_delivery_attempts]
    content {
      dead_letter_topic     = google_pubsub_topic.topic["deadLetters"].id
      max_delivery_attempts = dead_letter_policy.value
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.push_invoker]
}

# Pub/Sub's own service agent moves dead letters (publish on the dead-letter
# topic, acknowledge on the source subscription) and signs the push tokens.
locals {
  pubsub_agent        = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  dead_lettered_feeds = { for name, f in local.pushed_functions : name => f if f.trigger != "deadLetters" }
}

resource "google_pubsub_topic_iam_member" "agent_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.topic["deadLetters"].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "agent_acks_dead_letters" {
  for_each     = local.dead_lettered_feeds
  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_service_account_iam_member" "agent_signs_push_tokens" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}
