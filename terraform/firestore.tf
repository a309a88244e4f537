# The state store. The pipeline's queries need only Firestore's automatic
# single-field indexes (equality filters, one range or order per query, and
# count/sum aggregations over them), so no composite index is declared.

resource "google_firestore_database" "state" {
  count                   = var.create_firestore_database ? 1 : 0
  project                 = var.project_id
  name                    = var.firestore_database
  location_id             = local.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON" # `terraform destroy` leaves the jobs' records in place
  depends_on              = [google_project_service.api]
}
