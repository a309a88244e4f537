#!/usr/bin/env bash
# scripts/deploy.sh: deploys (or updates) the whole pipeline on Google Cloud.
#
# Builds the function bundles (npm run build → dist/functions/), then runs the
# Terraform module in terraform/: init, plan into a plan file, apply exactly
# that plan. Terraform uploads each bundle as an object named by its content
# hash and enables the APIs, so running this again with nothing changed
# uploads, redeploys and creates nothing. --dry-run stops after the plan.
set -euo pipefail

SCRIPT_NAME="deploy.sh"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<EOF
Usage: scripts/deploy.sh [--dry-run] [--project P] [--region R] [--auto-approve] [-h|--help]

Deploys the PHYSLITE fan-out (orchestrator, workers, reducer, status functions,
topics, buckets, Firestore) to Google Cloud, or updates a deployment:
  1. npm ci            (only when node_modules is missing or older than package-lock.json)
  2. npm run build     (the function bundles in dist/functions/)
  3. terraform -chdir=terraform init -input=false
  4. terraform -chdir=terraform plan -out=PLAN    (shows every change)
  5. terraform -chdir=terraform apply PLAN        (after you confirm, or with --auto-approve)
  6. terraform -chdir=terraform output            (function URLs, topics, buckets)
Terraform uploads the bundles (named by content hash) and enables the APIs: an
unchanged deployment plans no changes, so running this twice is harmless.

Options:
  --dry-run        build, init and plan only: show what would change, change nothing
  --project P      the Google Cloud project (default: project_id in terraform/terraform.tfvars,
                   else \$TF_VAR_project_id, else 'gcloud config get-value project')
  --region R       the region (default: terraform.tfvars, else the module's us-central1)
  --auto-approve   apply without asking (for CI); without it you confirm at a terminal
  -h, --help       this text

Needs: node and npm, gcloud (https://cloud.google.com/sdk/docs/install), terraform
(https://developer.hashicorp.com/terraform/install), 'gcloud auth login' and
'gcloud auth application-default login' (Terraform's google provider uses the latter).
$EXIT_CODES_HELP
EOF
}

DRY_RUN=0
AUTO_APPROVE=0
PROJECT=""
REGION=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dry-run) DRY_RUN=1 ;;
    --auto-approve) AUTO_APPROVE=1 ;;
    --project) need_value "$@"; PROJECT="$2"; shift ;;
    --project=*) PROJECT="${1#*=}" ;;
    --region) need_value "$@"; REGION="$2"; shift ;;
    --region=*) REGION="${1#*=}" ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done

# --- prerequisites -----------------------------------------------------------
require_node
require_npm
require_gcloud
require_terraform
require_account adc
require_adc
compgen -G "$TF_DIR/*.tf" >/dev/null || die "$EXIT_ERROR" "no Terraform module in $TF_DIR (expected *.tf files)"

TF_VARS=()
if [[ -n "$PROJECT" ]]; then
  from="--project"
  TF_VARS+=(-var "project_id=$PROJECT")
# in Terraform's own order: terraform.tfvars wins over TF_VAR_project_id
elif PROJECT="$(tfvars_project)" && [[ -n "$PROJECT" ]]; then
  from="terraform/terraform.tfvars" # terraform reads it itself
elif [[ -n "${TF_VAR_project_id:-}" ]]; then
  PROJECT="$TF_VAR_project_id"
  from="TF_VAR_project_id" # terraform reads it itself
else
  PROJECT="$(gcloud_project)"
  from="gcloud config"
  [[ -n "$PROJECT" ]] || die_no_project "set project_id in terraform/terraform.tfvars (see terraform/terraform.tfvars.example)"
  TF_VARS+=(-var "project_id=$PROJECT")
fi
[[ -n "$REGION" ]] && TF_VARS+=(-var "region=$REGION")
say "project $PROJECT (from $from)${REGION:+, region $REGION}, account $GCLOUD_ACCOUNT"

cd "$REPO_ROOT"

# --- build ---------------------------------------------------------------------
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  run npm ci
else
  say "node_modules is up to date with package-lock.json: skipping npm ci"
fi
run npm run build
[[ -f dist/functions/manifest.json ]] || die "$EXIT_ERROR" "npm run build finished but dist/functions/manifest.json is missing"

# --- terraform -----------------------------------------------------------------
WORK="$(mktemp -d)"
trap 'rm -rf -- "$WORK"' EXIT
PLAN="$WORK/deploy.tfplan"

run terraform -chdir="$TF_DIR" init -input=false
plan_rc=0
run terraform -chdir="$TF_DIR" plan -input=false -detailed-exitcode -out="$PLAN" ${TF_VARS[@]+"${TF_VARS[@]}"} || plan_rc=$?
case "$plan_rc" in
  0) changes=0 ;;
  2) changes=1 ;;
  *) die "$EXIT_ERROR" "terraform plan failed (exit $plan_rc): see its messages above" ;;
esac

if [[ "$DRY_RUN" == 1 ]]; then
  if [[ "$changes" == 1 ]]; then
    say "dry run: would apply the plan above (terraform apply); nothing was changed. Run without --dry-run to deploy."
  else
    say "dry run: the deployment is up to date; nothing would be applied and nothing was changed."
  fi
  exit 0
fi

if [[ "$changes" == 1 ]]; then
  if [[ "$AUTO_APPROVE" != 1 ]]; then
    [[ -t 0 ]] || die "$EXIT_USAGE" "standard input is not a terminal, so the plan cannot be confirmed: pass --auto-approve to apply it without asking (or --dry-run to only see it)"
    read -r -p "Apply the plan above to project $PROJECT? Only 'yes' applies it: " answer
    [[ "$answer" == yes ]] || die "$EXIT_ERROR" "not applied (answer was not 'yes'); nothing was changed"
  fi
  run terraform -chdir="$TF_DIR" apply -input=false "$PLAN"
else
  say "no changes: the deployment is up to date"
fi

# --- what was deployed ----------------------------------------------------------
run terraform -chdir="$TF_DIR" output
bucket="$(tf_output data_bucket 2>/dev/null || true)"
cat <<EOF

Deployed to project $PROJECT. Next:
  scripts/upload-samples.sh                  (copies the sample files to gs://${bucket:-DATA_BUCKET}/samples/)
  scripts/trigger.sh gs://${bucket:-DATA_BUCKET}/samples/   (runs a job on them and follows it)
EOF
