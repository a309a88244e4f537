#!/usr/bin/env bash
# scripts/trigger.sh: starts a PHYSLITE analysis job on the deployed pipeline
# and follows it until it is done.
#
# The job request ({"dataset": [...], "jobId", "label", "shardMB", ...}, as
# POST /jobs takes it) is published on the jobs topic with
# `gcloud pubsub topics publish` as {"kind":"job","v":1,"request":{...}}, or
# with --http POSTed to the orchestrator function with an identity token.
# Then the status function is polled (GET /jobs/ID?format=json) and one
# progress line printed per poll, until the job is finished or rejected.
set -euo pipefail

SCRIPT_NAME="trigger.sh"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<EOF
Usage: scripts/trigger.sh [options] DATASET...

Starts an analysis job over DATASET and follows it until it is done.
DATASET entries are gs:// prefixes (gs://bucket/mc20/) or objects, https:// URLs
of ROOT files, or index files of URLs (*.txt, *.list, *.lst), as in POST /jobs.

By default the request is published on the jobs topic (gcloud pubsub topics
publish); the orchestrator plans it and the status function reports it. With
--http it is POSTed to the orchestrator instead, and its reply (or refusal) is
printed at once. Both functions are private: the script sends your
'gcloud auth print-identity-token'.

Options:
  --http                POST to the orchestrator's /jobs instead of publishing
  --job-id ID           job id (a-z, 0-9, '-'; default job-YYYYMMDD-HHMMSS-NNNNN).
                        Repeating a request with the same id resumes that job.
  --label L             free text shown in the job list
  --shard-mb N          MiB of file per shard (default: the orchestrator's, 1024)
  --analysis NAME       the analysis (default: reference)
  --profile r21|r22     force the analysis profile (options.profile)
  --options JSON        analysis options as a JSON object
  --no-follow           start the job, print its id and status URL, and exit
  --interval S          seconds between status polls (default 5)
  --plan-timeout S      how long "no such job yet" is waited out after submitting
                        (the orchestrator is still planning; default 300)
  --timeout S           give up following after S seconds (default: never)
  --project P           project of the topic (default: terraform output project_id,
                        else 'gcloud config get-value project')
  --topic T             jobs topic (default: terraform output jobs_topic)
  --orchestrator-url U  orchestrator URL for --http (default: terraform output orchestrator_url)
  --status-url U        status URL (default: the orchestrator's reply, else terraform output status_url)
  -h, --help            this text

Without --topic/--orchestrator-url/--status-url the values come from
'terraform -chdir=terraform output' of the deployment (scripts/deploy.sh).
Exit codes: 0 finished with no failed shard, 2 finished with failed shards,
1 error (refused, rejected, timed out, unreachable). Also 10 gcloud missing,
11 terraform missing, 12 node missing, 13 not logged in, 15 no project, 64 bad usage.
EOF
}

HTTP=0
FOLLOW=1
JOB_ID=""
LABEL=""
SHARD_MB=""
ANALYSIS=""
PROFILE=""
OPTIONS=""
INTERVAL=5
PLAN_TIMEOUT=300
TIMEOUT=0
PROJECT=""
TOPIC=""
ORCHESTRATOR_URL=""
STATUS_URL=""
DATASETS=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --http) HTTP=1 ;;
    --no-follow) FOLLOW=0 ;;
    --job-id) need_value "$@"; JOB_ID="$2"; shift ;;
    --label) [[ $# -ge 2 ]] || usage_error "option $1 needs a value"; LABEL="$2"; shift ;;
    --shard-mb) need_value "$@"; SHARD_MB="$2"; shift ;;
    --analysis) need_value "$@"; ANALYSIS="$2"; shift ;;
    --profile) need_value "$@"; PROFILE="$2"; shift ;;
    --options) need_value "$@"; OPTIONS="$2"; shift ;;
    --interval) need_value "$@"; INTERVAL="$2"; shift ;;
    --plan-timeout) need_value "$@"; PLAN_TIMEOUT="$2"; shift ;;
    --timeout) need_value "$@"; TIMEOUT="$2"; shift ;;
    --project) need_value "$@"; PROJECT="$2"; shift ;;
    --topic) need_value "$@"; TOPIC="$2"; shift ;;
    --orchestrator-url) need_value "$@"; ORCHESTRATOR_URL="$2"; shift ;;
    --status-url) need_value "$@"; STATUS_URL="$2"; shift ;;
    --) shift; DATASETS+=("$@"); break ;;
    -*) usage_error "unknown option '$1'" ;;
    *) DATASETS+=("$1") ;;
  esac
  shift
done

[[ ${#DATASETS[@]} -gt 0 ]] || usage_error "give at least one DATASET (gs://bucket/prefix/, an object, an https:// URL or an index file)"
is_seconds() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]; }
is_seconds "$INTERVAL" || usage_error "--interval must be a number of seconds, got '$INTERVAL'"
[[ "$PLAN_TIMEOUT" =~ ^[0-9]+$ ]] || usage_error "--plan-timeout must be a whole number of seconds, got '$PLAN_TIMEOUT'"
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || usage_error "--timeout must be a whole number of seconds, got '$TIMEOUT'"
if [[ -n "$JOB_ID" && ! "$JOB_ID" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]]; then
  usage_error "--job-id must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit, got '$JOB_ID'"
fi
GENERATED_ID=0
STALE_REJECTION=""
if [[ -z "$JOB_ID" ]]; then
  JOB_ID="job-$(date -u +%Y%m%d-%H%M%S)-$RANDOM"
  GENERATED_ID=1
fi

# --- prerequisites -----------------------------------------------------------
require_node
require_gcloud
require_account gcloud

WORK="$(mktemp -d)"
trap 'rm -rf -- "$WORK"' EXIT

# --- the request -----------------------------------------------------------------
# Built and checked by node (no jq): datasets are the arguments, the rest comes
# through the environment.
# shellcheck disable=SC2016 # JavaScript in single quotes
REQUEST="$(
  T_JOB_ID="$JOB_ID" T_LABEL="$LABEL" T_HAS_LABEL="${LABEL:+1}" T_SHARD_MB="$SHARD_MB" \
    T_ANALYSIS="$ANALYSIS" T_PROFILE="$PROFILE" T_OPTIONS="$OPTIONS" node -e '
    const env = process.env;
    const fail = (m) => { process.stderr.write(`trigger.sh: ${m}\n`); process.exit(64); };
    const req = { dataset: process.argv.slice(1), jobId: env.T_JOB_ID };
    if (env.T_HAS_LABEL) req.label = env.T_LABEL;
    if (env.T_SHARD_MB) {
      const mb = Number(env.T_SHARD_MB);
      if (!/^[0-9]*\.?[0-9]+(e[-+]?[0-9]+)?$/i.test(env.T_SHARD_MB) || !(mb > 0)) fail(`--shard-mb must be a positive number of MiB, got "${env.T_SHARD_MB}"`);
      req.shardMB = mb;
    }
    if (env.T_ANALYSIS) req.analysis = env.T_ANALYSIS;
    let options;
    if (env.T_OPTIONS) {
      try { options = JSON.parse(env.T_OPTIONS); } catch (e) { fail(`--options is not valid JSON: ${e.message}`); }
      if (options === null || typeof options !== "object" || Array.isArray(options)) fail("--options must be a JSON object, e.g. {\"profile\":\"r22\"}");
    }
    if (env.T_PROFILE) options = { ...options, profile: env.T_PROFILE };
    if (options) req.options = options;
    process.stdout.write(JSON.stringify(req));
  ' "${DATASETS[@]}"
)" || {
  rc=$?
  if [[ $rc == 64 ]]; then
    printf 'Run %s --help for usage.\n' "$SCRIPT_NAME" >&2
    exit "$EXIT_USAGE"
  fi
  die "$EXIT_ERROR" "could not build the request (node exited $rc)"
}

# --- identity token --------------------------------------------------------------
AUTH_HEADER="$WORK/auth-header" # kept in a file so the token is not on a command line
refresh_token() {
  local token
  if ! token="$(gcloud auth print-identity-token 2>"$WORK/token-err")" || [[ -z "$token" ]]; then
    die "$EXIT_ERROR" "'gcloud auth print-identity-token' failed: $(tr '\n' ' ' <"$WORK/token-err")(the functions are private and need an identity token; try 'gcloud auth login')"
  fi
  (umask 077 && printf 'Authorization: Bearer %s\n' "$token" >"$AUTH_HEADER")
}

# http_request METHOD URL [BODY_FILE]: sets HTTP_CODE ("000" when unreachable)
# and leaves the reply in $WORK/reply.
http_request() {
  local method="$1" url="$2" data=()
  [[ -n "${3:-}" ]] && data=(-H 'Content-Type: application/json' --data-binary "@$3")
  HTTP_CODE="$(curl -sS --max-time 60 -X "$method" -H "@$AUTH_HEADER" -H 'Accept: application/json' \
    ${data[@]+"${data[@]}"} -o "$WORK/reply" -w '%{http_code}' "$url" 2>"$WORK/curl-err")" || HTTP_CODE="000"
  [[ -f "$WORK/reply" ]] || : >"$WORK/reply"
}

# reply_field PATH: the value at PATH (dotted, e.g. shards.failed) in the last
# reply, if it is a string, number or boolean; nothing if it is not (or the
# reply is not JSON).
reply_field() {
  # shellcheck disable=SC2016 # JavaScript in single quotes
  node -e '
    let v;
    try { v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); } catch { process.exit(0); }
    for (const k of process.argv[2].split(".")) v = v === null || typeof v !== "object" ? undefined : v[k];
    if (["string", "number", "boolean"].includes(typeof v)) process.stdout.write(String(v));
  ' "$WORK/reply" "$1"
}

# --- submit ----------------------------------------------------------------------
if [[ "$HTTP" == 1 ]]; then
  [[ -n "$ORCHESTRATOR_URL" ]] || ORCHESTRATOR_URL="$(need_output orchestrator_url --orchestrator-url)"
  url="${ORCHESTRATOR_URL%/}/jobs"
  refresh_token
  printf '%s' "$REQUEST" >"$WORK/request.json"
  say "POST $url $REQUEST"
  http_request POST "$url" "$WORK/request.json"
  if [[ "$HTTP_CODE" == 000 ]]; then
    die "$EXIT_ERROR" "could not reach the orchestrator at $url: $(tr '\n' ' ' <"$WORK/curl-err")"
  fi
  if [[ ! "$HTTP_CODE" =~ ^2 ]]; then
    printf '%s: error: the orchestrator refused the job (HTTP %s):\n' "$SCRIPT_NAME" "$HTTP_CODE" >&2
    cat "$WORK/reply" >&2
    printf '\n' >&2
    exit "$EXIT_ERROR"
  fi
  cat "$WORK/reply"
  # The reply's jobId and status link (links.self of the job).
  reply_id="$(reply_field jobId)"
  reply_status="$(reply_field status)"
  [[ -n "$reply_id" ]] && JOB_ID="$reply_id"
  if [[ -z "$STATUS_URL" && "$reply_status" == */jobs/"$JOB_ID" ]]; then STATUS_URL="${reply_status%/jobs/"$JOB_ID"}"; fi
else
  [[ -n "$TOPIC" ]] || TOPIC="$(need_output jobs_topic --topic)"
  # A message gets no reply, so an explicit id is checked first: a job already
  # under it would refuse a different request (recorded apart, as msg-<id>)
  # and following the id would show that other job; a rejection left under it
  # by an earlier request is remembered, so it is not taken for this one's.
  if [[ "$GENERATED_ID" == 0 ]]; then
    [[ -n "$STATUS_URL" ]] || STATUS_URL="$(tf_output status_url 2>/dev/null || true)"
    if [[ -n "$STATUS_URL" ]]; then
      refresh_token
      http_request GET "${STATUS_URL%/}/jobs/$JOB_ID?format=json"
      if [[ "$HTTP_CODE" == 200 ]]; then
        existing="$(reply_field state)"
        case "$existing" in
          rejected) STALE_REJECTION="$(reply_field createdAt)" ;;
          running | finished)
            die "$EXIT_ERROR" "job $JOB_ID already exists ($existing, created $(reply_field createdAt)): a message with a different request under this id would be refused, and following $JOB_ID would show the existing job. Choose another --job-id, or resume it with --http (which says at once whether the request matches): ${STATUS_URL%/}/jobs/$JOB_ID"
            ;;
        esac
      elif [[ "$HTTP_CODE" != 404 ]]; then
        warn "could not check whether job $JOB_ID exists (HTTP $HTTP_CODE); publishing anyway"
      fi
    fi
  fi
  if [[ -z "$PROJECT" && "$TOPIC" != projects/* ]]; then
    PROJECT="$(tf_output project_id 2>/dev/null || true)"
    [[ -n "$PROJECT" ]] || PROJECT="$(gcloud_project)"
    [[ -n "$PROJECT" ]] || die_no_project "deploy with scripts/deploy.sh (terraform output project_id)"
  fi
  MESSAGE="{\"kind\":\"job\",\"v\":1,\"request\":$REQUEST}"
  publish=(gcloud pubsub topics publish "$TOPIC" "--message=$MESSAGE" --format='value(messageIds)')
  [[ -n "$PROJECT" ]] && publish+=("--project=$PROJECT")
  message_id="$(run "${publish[@]}")" || die "$EXIT_ERROR" "publishing the job on topic $TOPIC failed (see gcloud's message above)"
  message_id="$(tr -d "[]' \n" <<<"$message_id")"
  say "published job $JOB_ID as message ${message_id:-?} on $TOPIC"
fi

if [[ "$FOLLOW" == 0 ]]; then
  printf 'job %s submitted' "$JOB_ID"
  if [[ -n "$STATUS_URL" ]]; then printf '; status: %s/jobs/%s' "${STATUS_URL%/}" "$JOB_ID"; fi
  printf '\n'
  exit 0
fi

# --- follow ----------------------------------------------------------------------
[[ -n "$STATUS_URL" ]] || STATUS_URL="$(need_output status_url --status-url)"
STATUS_URL="${STATUS_URL%/}"
[[ -f "$AUTH_HEADER" ]] || refresh_token
job_url="$STATUS_URL/jobs/$JOB_ID?format=json"
say "following $STATUS_URL/jobs/$JOB_ID every ${INTERVAL}s"

# Reads a JobStatus (JSON) and prints, for "line": the state, a tab and one
# progress line; for "summary": the closing report.
# shellcheck disable=SC2016 # JavaScript in single quotes
RENDER='
const fs = require("fs");
const [mode, file] = process.argv.slice(1);
let s;
try { s = JSON.parse(fs.readFileSync(file, "utf8")); } catch (e) { process.stdout.write(`invalid\tthe status reply is not JSON: ${e.message}`); process.exit(0); }
const num = (x) => (typeof x === "number" && Number.isFinite(x) ? x : undefined);
const dur = (sec) => {
  sec = Math.max(0, Math.round(sec));
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), r = sec % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`;
};
const bytes = (b) => { const u = ["B", "KB", "MB", "GB", "TB"]; let i = 0; while (b >= 1000 && i < u.length - 1) { b /= 1000; i++; } return `${i ? b.toFixed(1) : b} ${u[i]}`; };
const usd = (x) => `$${x < 1 ? x.toFixed(4) : x.toFixed(2)}`;
const sh = s.shards ?? {};
const cost = num(s.cost?.totalUsd);
if (mode === "line") {
  const parts = [
    `shards ${sh.done ?? 0}/${sh.total ?? "?"} done, ${sh.failed ?? 0} failed${sh.running ? `, ${sh.running} running` : ""}`,
    `${(num(s.events) ?? 0).toLocaleString("en-US")} events`,
    `elapsed ${dur(num(s.elapsedSeconds) ?? 0)}`,
    `eta ${num(s.etaSeconds) !== undefined ? dur(s.etaSeconds) : "?"}`,
  ];
  if (cost !== undefined) parts.push(`cost ~${usd(cost)}`);
  if (s.published === false && s.state === "running") parts.push("publishing shards");
  if (Array.isArray(s.retrying) && s.retrying.length) parts.push(`${s.retrying.length} retrying`);
  process.stdout.write(`${s.state ?? "unknown"}\t${String(s.state ?? "unknown").padEnd(8)} ${parts.join(" · ")}`);
} else {
  const out = [];
  if (s.state === "rejected") {
    out.push(`job ${s.jobId} was rejected: ${s.error ?? "(no reason recorded)"}`);
  } else {
    out.push(`job ${s.jobId}${s.label ? ` (${s.label})` : ""} finished in ${dur(num(s.elapsedSeconds) ?? 0)}`);
    out.push(`  shards:  ${sh.total ?? "?"} total, ${sh.done ?? 0} done, ${sh.failed ?? 0} failed`);
    out.push(`  files:   ${s.dataset?.files ?? "?"} (${bytes(num(s.dataset?.bytes) ?? 0)}), ${bytes(num(s.bytesRead) ?? 0)} read`);
    out.push(`  events:  ${(num(s.events) ?? 0).toLocaleString("en-US")} read${num(s.result?.eventsKept) !== undefined ? `, ${s.result.eventsKept.toLocaleString("en-US")} kept` : ""}`);
    const c = s.result?.counts;
    if (c && typeof c === "object") {
      for (const [name, v] of Object.entries(c)) if (v && typeof v === "object") out.push(`  ${name.padEnd(9)} baseline ${v.baseline ?? "?"}, passOR ${v.passOR ?? "?"}, signal ${v.signal ?? "?"}`);
    }
    if (cost !== undefined) out.push(`  estimated cost: ${usd(cost)}`);
    const failures = Array.isArray(s.failures) ? s.failures : [];
    if (failures.length) {
      out.push(`  failed shards:`);
      for (const f of failures) out.push(`    shard ${f.shard}: ${f.url}${f.parts > 1 ? ` (part ${f.part + 1} of ${f.parts})` : ""}: ${f.error?.code ? `${f.error.code}: ` : ""}${f.error?.message ?? "?"}`);
      if (s.moreFailures) out.push(`    ... and ${s.moreFailures} more`);
    }
  }
  if (s.links?.page) out.push(`  status page: ${s.links.page}`);
  process.stdout.write(out.join("\n") + "\n");
}
'

started=$SECONDS
waiting_since=$SECONDS
transient=0
reauthorized=0
seen=0
while :; do
  http_request GET "$job_url"
  case "$HTTP_CODE" in
    200)
      transient=0
      reauthorized=0
      seen=1
      line="$(node -e "$RENDER" line "$WORK/reply")"
      state="${line%%$'\t'*}"
      [[ "$state" == rejected ]] || printf '[%s] %s\n' "$(date +%H:%M:%S)" "${line#*$'\t'}"
      case "$state" in
        finished)
          node -e "$RENDER" summary "$WORK/reply"
          failed="$(reply_field shards.failed)"
          [[ "${failed:-0}" == 0 ]] && exit 0
          exit 2
          ;;
        rejected)
          rejected_at="$(reply_field createdAt)"
          if [[ -n "${STALE_REJECTION:-}" && "$rejected_at" == "$STALE_REJECTION" ]]; then
            # the earlier request's rejection: this request has not been planned yet
            seen=0
            if ((SECONDS - waiting_since >= PLAN_TIMEOUT)); then
              die "$EXIT_ERROR" "job $JOB_ID still shows the rejection of an earlier request after ${PLAN_TIMEOUT}s: this request has not been planned (look at the logs of the function that reads the jobs topic)"
            fi
            printf '[%s] waiting  job %s is not planned yet (what shows is the rejection of an earlier request)\n' "$(date +%H:%M:%S)" "$JOB_ID"
          else
            printf '[%s] %s\n' "$(date +%H:%M:%S)" "${line#*$'\t'}"
            node -e "$RENDER" summary "$WORK/reply" >&2
            exit "$EXIT_ERROR"
          fi
          ;;
        running) ;;
        *) die "$EXIT_ERROR" "unexpected status reply from $job_url: $(head -c 500 "$WORK/reply")" ;;
      esac
      ;;
    404)
      transient=0
      if [[ "$seen" == 1 ]]; then die "$EXIT_ERROR" "job $JOB_ID disappeared from $STATUS_URL (HTTP 404): $(head -c 500 "$WORK/reply")"; fi
      if ((SECONDS - waiting_since >= PLAN_TIMEOUT)); then
        die "$EXIT_ERROR" "job $JOB_ID did not appear at $STATUS_URL within ${PLAN_TIMEOUT}s: the orchestrator has not planned it (is the job request still being retried?). Look at the logs of the function that reads the jobs topic, or submit with --http to see a refusal at once"
      fi
      printf '[%s] waiting  job %s is not planned yet (the orchestrator is still working)\n' "$(date +%H:%M:%S)" "$JOB_ID"
      ;;
    401 | 403)
      if [[ "$reauthorized" == 0 ]]; then
        reauthorized=1
        refresh_token
        continue
      fi
      die "$EXIT_ERROR" "the status function refused the request (HTTP $HTTP_CODE): your account ($GCLOUD_ACCOUNT) needs roles/run.invoker on it (list it in invoker_members in terraform/terraform.tfvars and run scripts/deploy.sh). Reply: $(head -c 500 "$WORK/reply")"
      ;;
    000 | 5* | 429)
      transient=$((transient + 1))
      if [[ "$HTTP_CODE" == 000 ]]; then
        why="$(tr '\n' ' ' <"$WORK/curl-err")"
      else
        why="HTTP $HTTP_CODE $(head -c 300 "$WORK/reply")"
      fi
      ((transient >= 10)) && die "$EXIT_ERROR" "the status function at $STATUS_URL failed 10 times in a row; last: $why"
      warn "status poll failed ($why); trying again"
      ;;
    *)
      die "$EXIT_ERROR" "unexpected reply from $job_url (HTTP $HTTP_CODE): $(head -c 500 "$WORK/reply")"
      ;;
  esac
  if ((TIMEOUT > 0 && SECONDS - started >= TIMEOUT)); then
    die "$EXIT_ERROR" "gave up following job $JOB_ID after ${TIMEOUT}s (--timeout); it goes on running: $STATUS_URL/jobs/$JOB_ID"
  fi
  sleep "$INTERVAL"
done
