# Buckets: the data bucket (inputs; created here or an existing one) and the
# source bucket that holds the function bundles.

resource "google_storage_bucket" "data" {
  count                       = var.create_data_bucket ? 1 : 0
  project                     = var.project_id
  name                        = local.data_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  dynamic "lifecycle_rule" {
    for_each = var.data_retention_days > 0 ? [var.data_retention_days] : []
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }
  depends_on = [google_project_service.api]
}

resource "google_storage_bucket" "sources" {
  project                     = var.project_id
  name                        = local.source_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # holds nothing but rebuildable bundles
  labels                      = var.labels

  lifecycle_rule {
    condition {
      age = var.bundle_retention_days
    }
    action {
      type = "Delete"
    }
  }
  depends_on = [google_project_service.api]
}

locals {
  # written by `npm run build`: entry point, signature type and zip hash of every function
  manifest = jsondecode(file("${path.module}/${var.bundles_dir}/manifest.json"))
}

# One zip per function, named by its content hash: an unchanged bundle is
# neither uploaded again nor redeployed.
resource "google_storage_bucket_object" "bundle" {
  for_each = local.functions
  bucket   = google_storage_bucket.sources.name
  name     = "functions/${each.key}-${local.manifest.functions[each.key].zipSha256}.zip"
  source   = "${path.module}/${var.bundles_dir}/${local.manifest.functions[each.key].zip}"
}
