# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the scripts that source this file
# Helpers shared by scripts/deploy.sh, scripts/trigger.sh and
# scripts/upload-samples.sh: messages, prerequisite checks with clear
# messages and distinct exit codes, the project and the Terraform outputs.
# Sourced, never run; the sourcing script sets `set -euo pipefail` and
# SCRIPT_NAME first.

# Exit codes (the same in every script).
readonly EXIT_ERROR=1          # anything else that went wrong (the message says what)
readonly EXIT_NO_GCLOUD=10     # gcloud is not on PATH
readonly EXIT_NO_TERRAFORM=11  # terraform is not on PATH
readonly EXIT_NO_NODE=12       # node / npm / the project's node_modules missing
readonly EXIT_NOT_LOGGED_IN=13 # no active gcloud account
readonly EXIT_NO_ADC=14        # no application-default credentials (Terraform's google provider needs them)
readonly EXIT_NO_PROJECT=15    # no Google Cloud project chosen
readonly EXIT_USAGE=64         # bad command line

# The repository root: this file is scripts/lib/common.sh.
REPO_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
readonly REPO_ROOT
readonly TF_DIR="$REPO_ROOT/terraform"

readonly EXIT_CODES_HELP="Exit codes: 0 ok, 1 error, 10 gcloud missing, 11 terraform missing, 12 node/npm missing,
13 not logged in to gcloud, 14 no application-default credentials, 15 no project, 64 bad usage."

# Progress and results: step messages go to stderr, so stdout carries only results.
say() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$SCRIPT_NAME" "$*" >&2; }

# die CODE MESSAGE…
die() {
  local code="$1"
  shift
  printf '%s: error: %s\n' "$SCRIPT_NAME" "$*" >&2
  exit "$code"
}

# usage_error MESSAGE…: a bad command line.
usage_error() {
  printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2
  printf 'Run %s --help for usage.\n' "$SCRIPT_NAME" >&2
  exit "$EXIT_USAGE"
}

# need_value OPTION VALUE_OR_EMPTY: an option that takes a value must get one.
need_value() {
  if [[ $# -lt 2 || -z "$2" || "$2" == --* ]]; then usage_error "option $1 needs a value"; fi
}

have() { command -v "$1" >/dev/null 2>&1; }

require_gcloud() {
  have gcloud || die "$EXIT_NO_GCLOUD" "gcloud (the Google Cloud CLI) is not on PATH: install the Google Cloud CLI: https://cloud.google.com/sdk/docs/install"
}

require_terraform() {
  have terraform || die "$EXIT_NO_TERRAFORM" "terraform is not on PATH: install Terraform 1.9 or newer (terraform/versions.tf): https://developer.hashicorp.com/terraform/install"
}

require_node() {
  have node || die "$EXIT_NO_NODE" "node is not on PATH: install Node.js 20 or newer: https://nodejs.org/"
}

require_npm() {
  have npm || die "$EXIT_NO_NODE" "npm is not on PATH: it comes with Node.js 20 or newer: https://nodejs.org/"
}

# The project's own node_modules (tsx, for scripts that import TypeScript).
require_node_modules() {
  [[ -d "$REPO_ROOT/node_modules/tsx" ]] || die "$EXIT_NO_NODE" "$REPO_ROOT/node_modules is missing or incomplete: run 'npm ci' in $REPO_ROOT first"
}

# require_account gcloud|adc: an active gcloud account; with "adc", the hint
# also names application-default login (what Terraform's google provider uses).
require_account() {
  local account
  account="$(gcloud auth list --filter=status:ACTIVE --format='value(account)' 2>/dev/null | head -n 1 || true)"
  if [[ -z "$account" ]]; then
    if [[ "$1" == adc ]]; then
      die "$EXIT_NOT_LOGGED_IN" "no active gcloud account: run 'gcloud auth login' and 'gcloud auth application-default login' (Terraform's google provider uses the application-default credentials)"
    fi
    die "$EXIT_NOT_LOGGED_IN" "no active gcloud account: run 'gcloud auth login'"
  fi
  GCLOUD_ACCOUNT="$account"
}

# Application-default credentials, unless Terraform is given credentials
# another way (the google provider's own variables).
require_adc() {
  if [[ -n "${GOOGLE_CREDENTIALS:-}${GOOGLE_APPLICATION_CREDENTIALS:-}${GOOGLE_OAUTH_ACCESS_TOKEN:-}" ]]; then return 0; fi
  gcloud auth application-default print-access-token >/dev/null 2>&1 \
    || die "$EXIT_NO_ADC" "no application-default credentials, which Terraform's google provider uses: run 'gcloud auth application-default login' (or set GOOGLE_APPLICATION_CREDENTIALS to a key file)"
}

# The project gcloud is configured with ("" when unset).
gcloud_project() {
  local p
  p="$(gcloud config get-value project 2>/dev/null || true)"
  [[ "$p" == "(unset)" ]] && p=""
  printf '%s' "$p"
}

# project_id from terraform/terraform.tfvars ("" when absent).
tfvars_project() {
  local file="$TF_DIR/terraform.tfvars"
  [[ -f "$file" ]] || return 0
  sed -nE 's/^[[:space:]]*project_id[[:space:]]*=[[:space:]]*"([^"]*)".*$/\1/p' "$file" | tail -n 1
}

die_no_project() {
  die "$EXIT_NO_PROJECT" "no Google Cloud project is set: pass --project PROJECT_ID${1:+, $1,} or run 'gcloud config set project PROJECT_ID'"
}

# tf_output NAME: prints the Terraform output NAME; fails (status 1, the
# reason on stderr) when terraform is missing or the output does not exist.
tf_output() {
  have terraform || { echo "terraform is not on PATH" >&2; return 1; }
  terraform -chdir="$TF_DIR" output -raw "$1"
}

# need_output NAME FLAG: the Terraform output NAME, or a clear failure that
# names FLAG as the way to give the value without Terraform.
need_output() {
  local name="$1" flag="$2" value err
  have terraform || die "$EXIT_NO_TERRAFORM" "terraform is not on PATH: it is needed to read the deployment's output '$name'; install Terraform (https://developer.hashicorp.com/terraform/install) or pass $flag"
  err="$(mktemp)"
  if ! value="$(terraform -chdir="$TF_DIR" output -raw "$name" 2>"$err")" || [[ -z "$value" ]]; then
    local why
    why="$(tr '\n' ' ' <"$err" | sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//')"
    rm -f "$err"
    die "$EXIT_ERROR" "cannot read the Terraform output '$name'${why:+ ($why)}: deploy first with scripts/deploy.sh, or pass $flag"
  fi
  rm -f "$err"
  printf '%s' "$value"
}

# Prints a command as it would be typed (for "running: …" lines).
show_cmd() {
  local out="" a
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=" $a"; else out+=" '${a//\'/\'\\\'\'}'"; fi
  done
  printf '%s' "${out# }"
}

# run CMD…: says what it runs, then runs it.
run() {
  say "running: $(show_cmd "$@")"
  "$@"
}
