#!/usr/bin/env bash
# scripts/upload-samples.sh: copies the sample ROOT files into a Cloud Storage
# bucket, so that a job can read them (scripts/trigger.sh gs://BUCKET/samples/).
#
# The files are the ones listed in ../shared/data/SOURCES.md (the table in
# scripts/lib/samples.ts): read from ../shared/data/ beside the checkout, or,
# when that folder is missing, downloaded once into .cache/samples/ (git-
# ignored) as `npm run fetch-samples` does; the sha256 is checked either way.
# Nothing is copied into the repository.
set -euo pipefail

SCRIPT_NAME="upload-samples.sh"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<EOF
Usage: scripts/upload-samples.sh [--bucket B] [--prefix P] [--project P] [--all] [-h|--help]

Copies the sample files (../shared/data/SOURCES.md) to gs://B/P/ with
'gcloud storage cp', and prints that gs:// prefix: pass it to scripts/trigger.sh.
The files are checked against their sha256 first; when ../shared/data/ is missing
they are downloaded from their upstream address into .cache/samples/.

By default only the DAOD_PHYSLITE samples are copied (the files the analysis
reads); --all copies the ROOT decoder's other test files too, which are not
PHYSLITE: a job over the same prefix then reports them as failed shards.

Options:
  --bucket B    the bucket (default: terraform output data_bucket of the deployment)
  --prefix P    folder in the bucket (default: samples/)
  --project P   the project gcloud works in (default: terraform output project_id,
                else 'gcloud config get-value project')
  --all         every sample file, not only the PHYSLITE ones
  -h, --help    this text

Needs: node and this checkout's node_modules (npm ci), gcloud
(https://cloud.google.com/sdk/docs/install) after 'gcloud auth login', and
terraform unless --bucket and --project are given.
$EXIT_CODES_HELP
EOF
}

BUCKET=""
PREFIX="samples/"
PROJECT=""
ALL=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --bucket) need_value "$@"; BUCKET="$2"; shift ;;
    --prefix) [[ $# -ge 2 ]] || usage_error "option $1 needs a value"; PREFIX="$2"; shift ;;
    --project) need_value "$@"; PROJECT="$2"; shift ;;
    --all) ALL=1 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done

# gs://bucket/ or bucket → bucket; the prefix without leading and with one trailing slash.
BUCKET="${BUCKET#gs://}"
BUCKET="${BUCKET%%/*}"
while [[ "$PREFIX" == /* ]]; do PREFIX="${PREFIX#/}"; done
while [[ "$PREFIX" == */ ]]; do PREFIX="${PREFIX%/}"; done
[[ -n "$PREFIX" ]] && PREFIX="$PREFIX/"

# --- prerequisites -----------------------------------------------------------
require_node
require_node_modules
require_gcloud
require_account gcloud
if [[ -z "$PROJECT" ]]; then
  PROJECT="$(tf_output project_id 2>/dev/null || true)"
  [[ -n "$PROJECT" ]] || PROJECT="$(gcloud_project)"
  [[ -n "$PROJECT" ]] || die_no_project "deploy with scripts/deploy.sh (terraform output project_id)"
fi
[[ -n "$BUCKET" ]] || BUCKET="$(need_output data_bucket --bucket)"
DEST="gs://$BUCKET/$PREFIX"

# --- the files -------------------------------------------------------------------
cd "$REPO_ROOT"
if [[ ! -d "$REPO_ROOT/../shared/data" ]]; then
  say "../shared/data is missing: downloading the samples into .cache/samples/ (sha256-checked), as npm run fetch-samples does"
fi
FILES=()
while IFS= read -r line; do
  [[ -n "$line" ]] && FILES+=("$line")
done < <(
  UPLOAD_ALL="$ALL" node --import tsx --input-type=module -e '
    const { SAMPLES, samplePath } = await import("./scripts/lib/samples.ts");
    const wanted = SAMPLES.filter((s) => process.env.UPLOAD_ALL === "1" || s.profile !== undefined);
    for (const s of wanted) process.stdout.write((await samplePath(s.name)) + "\n");
  ' || echo "!failed"
)
if [[ ${#FILES[@]} -eq 0 || " ${FILES[*]} " == *" !failed "* ]]; then
  die "$EXIT_ERROR" "could not find or download the sample files (see the message above); 'npm run fetch-samples' shows each one"
fi
say "${#FILES[@]} sample files, sha256 verified"

# --- upload ----------------------------------------------------------------------
run gcloud storage cp "${FILES[@]}" "$DEST" "--project=$PROJECT" \
  || die "$EXIT_ERROR" "copying to $DEST failed (see gcloud's message above); does the bucket exist, and may $GCLOUD_ACCOUNT write to it?"

say "uploaded ${#FILES[@]} files to $DEST; start a job on them with: scripts/trigger.sh $DEST"
printf '%s\n' "$DEST"
