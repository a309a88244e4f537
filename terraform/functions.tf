# The Cloud Run functions (2nd gen), one per entry of functions/functions.json,
# each built from its own esbuild bundle and running as its own service account.

resource "google_service_account" "function" {
  for_each     = local.functions
  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.key}"
  display_name = "physlite ${each.key} function"
  depends_on   = [google_project_service.api]
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions
  project  = var.project_id
  location = var.region
  name     = "${var.name_prefix}-${each.key}"
  labels   = var.labels

  build_config {
    runtime         = var.nodejs_runtime
    entry_point     = each.value.entry_point
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.bundle[each.key].name
      }
    }
  }

  service_config {
    available_cpu                    = tostring(each.value.cpu)
    available_memory                 = "${each.value.memory_mib}Mi"
    timeout_seconds                  = each.value.timeout_s
    max_instance_count               = each.value.max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = each.value.concurrency
    service_account_email            = google_service_account.function[each.key].email
    # The HTTP functions are called by people from anywhere (IAM decides who).
    # The Pub/Sub-fed ones only ever hear from this module's push subscriptions:
    # with internal ingress the internet cannot reach them at all, and Cloud Run
    # counts Pub/Sub in the same project (or VPC-SC perimeter) as internal
    # (https://cloud.google.com/run/docs/securing/ingress, "Internal" setting);
    # IAM (the push identity's run.invoker) is then the second guard, not the only one.
    ingress_settings               = each.value.trigger == "http" ? "ALLOW_ALL" : var.pushed_ingress
    all_traffic_on_latest_revision = true
    environment_variables          = local.function_env
  }

  lifecycle {
    precondition {
      condition     = try(local.manifest.functions[each.key].entryPoint, "") == each.value.entry_point
      error_message = "The bundle built for ${each.key} does not register entry point ${each.value.entry_point}: run `npm run build` (scripts/deploy.sh does) and check functions/functions.json."
    }
  }
  depends_on = [google_project_service.api, google_firestore_database.state, google_project_iam_member.build, google_project_iam_member.build_reads_sources]
}

# Cloud Build turns each zip into an image as this account, rather than a
# project default whose roles differ from project to project. It has the roles
# Google lists for a function's build account (logs, images, the source), the
# source limited to the two buckets it comes from: ours, and the copy Cloud
# Functions stages in gcf-v2-sources-<project number>-<region> (which does not
# exist before the first deploy, so the grant is on the project, with a condition).
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "physlite function builds"
  depends_on   = [google_project_service.api]
}

resource "google_project_iam_member" "build" {
  for_each = toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.build.email}"
}

resource "google_project_iam_member" "build_reads_sources" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = "serviceAccount:${google_service_account.build.email}"
  condition {
    title       = "function sources only"
    description = "the bundles in the module's source bucket and their copies staged by Cloud Functions"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${local.source_bucket}/\") || resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-${var.region}/\")"
  }
}

# Who may call which function. Cloud Run checks the caller's identity token.

# Pub/Sub pushes as this account (an OIDC token in every push request).
resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push"
  display_name = "physlite Pub/Sub push identity"
  depends_on   = [google_project_service.api]
}

resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  for_each = local.pushed_functions
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}

locals {
  http_invokers = merge(
    { for pair in setproduct(["orchestrator", "status"], var.invoker_members) : "${pair[0]} ${pair[1]}" => { function = pair[0], member = pair[1] } },
    var.status_public ? { "status allUsers" = { function = "status", member = "allUsers" } } : {},
  )
}

resource "google_cloud_run_v2_service_iam_member" "http_invoker" {
  for_each = local.http_invokers
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.value.function].name
  role     = "roles/run.invoker"
  member   = each.value.member
}

# The links the functions return use the status endpoint's cloudfunctions.net
# address (known before it exists); warn if the platform reports another.
check "status_link_base" {
  assert {
    condition     = google_cloudfunctions2_function.function["status"].url == local.status_url
    error_message = "The status function's URL is ${google_cloudfunctions2_function.function["status"].url}, not ${local.status_url}: links in the functions' replies will point to the wrong address."
  }
}
