# Terraform and provider versions. Terraform 1.9 is the first release whose
# variable validations may refer to other variables (used in variables.tf).
terraform {
  required_version = ">= 1.9"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
