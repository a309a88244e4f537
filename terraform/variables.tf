# Settings of one deployment. Only project_id is required; put values in
# terraform.tfvars (see terraform.tfvars.example) or pass -var name=value.

variable "project_id" {
  description = "Google Cloud project to deploy into."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id (6-30 characters: lower-case letters, digits, hyphens), not a project name or number."
  }
}

variable "region" {
  description = "Region of the functions, buckets and (by default) the Firestore database. Keep data, functions and Firestore in one region: same-region reads from Cloud Storage carry no transfer charge."
  type        = string
  default     = "us-central1"
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, topics, subscriptions, service accounts), so several deployments can share a project."
  type        = string
  default     = "physlite"
  validation {
    # service account ids are at most 30 characters: prefix + "-orchestrator-jobs"
    condition     = can(regex("^[a-z][a-z0-9-]{0,11}$", var.name_prefix))
    error_message = "name_prefix must be 1-12 characters: a lower-case letter, then letters, digits or hyphens."
  }
}

variable "labels" {
  description = "Labels put on every resource that takes them (for cost attribution)."
  type        = map(string)
  default     = {}
}

# ---- buckets -------------------------------------------------------------

variable "data_bucket" {
  description = "Bucket for input data (e.g. the samples uploaded by scripts/upload-samples.sh). Empty: <project_id>-<name_prefix>-data."
  type        = string
  default     = ""
}

variable "create_data_bucket" {
  description = "Create data_bucket. false: use an existing bucket of that name (data_bucket must then be set)."
  type        = bool
  default     = true
  validation {
    condition     = var.create_data_bucket || var.data_bucket != ""
    error_message = "create_data_bucket = false needs data_bucket to name the existing bucket."
  }
}

variable "data_retention_days" {
  description = "Delete objects in a data bucket created here after this many days (0: keep them). Has no effect on an existing bucket."
  type        = number
  default     = 0
  validation {
    condition     = var.data_retention_days >= 0 && floor(var.data_retention_days) == var.data_retention_days
    error_message = "data_retention_days must be a whole number of days, 0 or more."
  }
}

variable "readable_buckets" {
  description = "Other buckets the orchestrators (listing) and workers (reading) may read datasets from, e.g. a group's shared data bucket. The data bucket is always readable."
  type        = list(string)
  default     = []
}

variable "source_bucket" {
  description = "Bucket for the function bundles (zips named by their content hash). Empty: <project_id>-<name_prefix>-sources."
  type        = string
  default     = ""
}

variable "bundle_retention_days" {
  description = "Delete bundle zips from the source bucket after this many days (a running function does not need its zip; the next deploy uploads a missing one again)."
  type        = number
  default     = 30
  validation {
    condition     = var.bundle_retention_days >= 1
    error_message = "bundle_retention_days must be at least 1."
  }
}

variable "bundles_dir" {
  description = "Folder of the bundles built by `npm run build` (manifest.json and one <function>.zip each), relative to this module."
  type        = string
  default     = "../dist/functions"
}

# ---- Firestore -----------------------------------------------------------

variable "firestore_database" {
  description = "Firestore database id the pipeline keeps its state in."
  type        = string
  default     = "(default)"
}

variable "create_firestore_database" {
  description = "Create the Firestore database (Native mode). false: use an existing one named firestore_database (a project that already has a (default) database must say false)."
  type        = bool
  default     = true
}

variable "firestore_location" {
  description = "Location of a database created here. Empty: the region. A multi-region such as nam5 or eur3 costs about twice as much per operation."
  type        = string
  default     = ""
}

variable "firestore_grants_database_only" {
  description = "Grant the functions' Firestore roles on the pipeline's database only (an IAM condition on resource.name), not on every database of the project. Turn off only if an organisation policy forbids conditional project grants."
  type        = bool
  default     = true
}

variable "jobs_collection" {
  description = "Firestore collection of the job documents (several deployments can share one database with different collections)."
  type        = string
  default     = "physlite-jobs"
}

# ---- functions -----------------------------------------------------------

variable "nodejs_runtime" {
  description = "Cloud Run functions runtime. The bundles are built for Node.js 20 and later; Node.js 20 reached end of life in April 2026, so the default is the next LTS."
  type        = string
  default     = "nodejs22"
  validation {
    condition     = can(regex("^nodejs[0-9]+$", var.nodejs_runtime)) && tonumber(trimprefix(var.nodejs_runtime, "nodejs")) >= 20
    error_message = "nodejs_runtime must be nodejs20 or later (the bundles target Node.js 20)."
  }
}

variable "worker_cpu" {
  description = "vCPUs per worker instance. The analysis of a shard runs on one core; more vCPUs only help with worker_concurrency above 1."
  type        = number
  default     = 1
  validation {
    condition     = contains([1, 2, 4, 6, 8], var.worker_cpu)
    error_message = "worker_cpu must be 1, 2, 4, 6 or 8."
  }
}

variable "worker_memory_mib" {
  description = "Memory per worker instance, MiB. A shard keeps the baskets of the branches it reads, a few hundred MB at most for 1 GiB shards."
  type        = number
  default     = 2048
  validation {
    # Cloud Run's vCPU-memory pairs: 1 vCPU 512Mi-4Gi, 2: 512Mi-8Gi, 4: 2-16Gi, 6: 4-24Gi, 8: 4-32Gi
    condition     = var.worker_memory_mib >= lookup({ "1" = 512, "2" = 512, "4" = 2048, "6" = 4096, "8" = 4096 }, tostring(var.worker_cpu), 0) && var.worker_memory_mib <= lookup({ "1" = 4096, "2" = 8192, "4" = 16384, "6" = 24576, "8" = 32768 }, tostring(var.worker_cpu), 0)
    error_message = "worker_memory_mib does not fit worker_cpu: 1 vCPU takes 512-4096 MiB, 2 take 512-8192, 4 take 2048-16384, 6 take 4096-24576, 8 take 4096-32768."
  }
}

variable "worker_concurrency" {
  description = "Shards one worker instance runs at once. 1 (the default) gives each shard a whole vCPU and its own memory."
  type        = number
  default     = 1
  validation {
    condition     = var.worker_concurrency >= 1 && var.worker_concurrency <= var.worker_cpu * 4
    error_message = "worker_concurrency must be from 1 to 4 per vCPU."
  }
}

variable "worker_max_instances" {
  description = "Most worker instances at once: the fan-out width. Bounded by the region's Cloud Run CPU and memory quota (1,000 instances of 1 vCPU need 1,000 vCPUs of quota)."
  type        = number
  default     = 100
  validation {
    condition     = var.worker_max_instances >= 1 && floor(var.worker_max_instances) == var.worker_max_instances
    error_message = "worker_max_instances must be a whole number, 1 or more."
  }
}

variable "worker_timeout_s" {
  description = "Request timeout of a worker, seconds. A push delivery waits at most the ack deadline (600 s), so more than 600 cannot help."
  type        = number
  default     = 540
  validation {
    condition     = var.worker_timeout_s >= 60 && var.worker_timeout_s <= 600
    error_message = "worker_timeout_s must be from 60 to 600 (the Pub/Sub push ack deadline is at most 600 s)."
  }
}

variable "orchestrator_max_instances" {
  description = "Most instances of each orchestrator function (HTTP and jobs topic)."
  type        = number
  default     = 5
  validation {
    condition     = var.orchestrator_max_instances >= 1 && floor(var.orchestrator_max_instances) == var.orchestrator_max_instances
    error_message = "orchestrator_max_instances must be a whole number, 1 or more."
  }
}

variable "reducer_max_instances" {
  description = "Most reducer instances. Each shard-done message is a short count query; one instance merges a finished job."
  type        = number
  default     = 10
  validation {
    condition     = var.reducer_max_instances >= 1 && floor(var.reducer_max_instances) == var.reducer_max_instances
    error_message = "reducer_max_instances must be a whole number, 1 or more."
  }
}

variable "reducer_memory_mib" {
  description = "Memory per reducer instance, MiB: the final merge holds the job's merged result and reads shard records a page at a time."
  type        = number
  default     = 2048
  validation {
    condition     = var.reducer_memory_mib >= 512 && var.reducer_memory_mib <= 4096
    error_message = "reducer_memory_mib must be from 512 to 4096 (1 vCPU)."
  }
}

variable "status_max_instances" {
  description = "Most instances of the status endpoint."
  type        = number
  default     = 3
  validation {
    condition     = var.status_max_instances >= 1 && floor(var.status_max_instances) == var.status_max_instances
    error_message = "status_max_instances must be a whole number, 1 or more."
  }
}

# ---- pipeline settings (the functions' environment) ----------------------

variable "shard_mb" {
  description = "Default shard size, MiB of file: larger files are split into parts of about this size. A request may ask for another size."
  type        = number
  default     = 1024
  validation {
    condition     = var.shard_mb >= 0.0009765625 && var.shard_mb <= 65536
    error_message = "shard_mb must be from 1 KiB (0.0009765625) to 65536 MiB."
  }
}

variable "max_shards" {
  description = "Largest number of shards one job may have; a bigger request is refused before anything is written."
  type        = number
  default     = 50000
  validation {
    condition     = var.max_shards >= 1 && var.max_shards <= 1000000 && floor(var.max_shards) == var.max_shards
    error_message = "max_shards must be a whole number from 1 to 1000000."
  }
}

variable "shard_deadline_s" {
  description = "A shard still running after this many seconds fails with DEADLINE instead of being cut off by the request timeout and redelivered forever."
  type        = number
  default     = 480
  validation {
    condition     = var.shard_deadline_s > 0 && var.shard_deadline_s < var.worker_timeout_s
    error_message = "shard_deadline_s must be above 0 and below worker_timeout_s, so a slow shard is recorded before the platform cuts the request off."
  }
}

variable "max_shard_attempts" {
  description = "Deliveries of a shard before the worker records it as failed (GAVE_UP) with its last error."
  type        = number
  default     = 5
  validation {
    condition     = var.max_shard_attempts >= 1 && var.max_shard_attempts <= 98 && floor(var.max_shard_attempts) == var.max_shard_attempts
    error_message = "max_shard_attempts must be a whole number from 1 to 98."
  }
}

variable "dead_letter_max_delivery_attempts" {
  description = "Deliveries after which Pub/Sub moves a message to the dead-letter topic (5-100). Pub/Sub also counts pushes that never reached an instance, such as Cloud Run's 429 while every worker is busy on a big job (10 attempts span only tens of minutes of backoff), so the default is the most Pub/Sub allows; a shard that reaches a worker and keeps failing is ended by the worker after max_shard_attempts. At least max_shard_attempts + 2, since Pub/Sub's count is approximate."
  type        = number
  default     = 100
  validation {
    condition     = var.dead_letter_max_delivery_attempts >= 5 && var.dead_letter_max_delivery_attempts <= 100 && var.dead_letter_max_delivery_attempts >= var.max_shard_attempts + 2
    error_message = "dead_letter_max_delivery_attempts must be from 5 to 100 and at least max_shard_attempts + 2."
  }
}

# the ranges below are the ones shared/pipeline/google/env.ts accepts: a value
# it refuses would stop every instance at start

variable "read_timeout_s" {
  description = "Deadline of one Cloud Storage request of the readers, seconds."
  type        = number
  default     = 30
  validation {
    condition     = var.read_timeout_s > 0 && var.read_timeout_s <= 600
    error_message = "read_timeout_s must be above 0 and at most 600."
  }
}

variable "read_retries" {
  description = "Repeats of a storage request after a transient failure, before the delivery fails and Pub/Sub redelivers it."
  type        = number
  default     = 2
  validation {
    condition     = var.read_retries >= 0 && var.read_retries <= 20 && floor(var.read_retries) == var.read_retries
    error_message = "read_retries must be a whole number from 0 to 20."
  }
}

variable "publish_timeout_s" {
  description = "How long an orchestrator waits for Pub/Sub to accept the shard messages before answering 503 (the request can be repeated with the same jobId)."
  type        = number
  default     = 30
  validation {
    condition     = var.publish_timeout_s > 0 && var.publish_timeout_s <= 600
    error_message = "publish_timeout_s must be above 0 and at most 600."
  }
}

# ---- Pub/Sub -------------------------------------------------------------

variable "message_retention" {
  description = "How long an unacknowledged message is kept in a subscription (and a dead letter waits), e.g. \"604800s\" (7 days, the most)."
  type        = string
  default     = "604800s"
}

variable "retry_minimum_backoff" {
  description = "Shortest wait before Pub/Sub redelivers a failed push."
  type        = string
  default     = "10s"
}

variable "retry_maximum_backoff" {
  description = "Longest wait before Pub/Sub redelivers a failed push."
  type        = string
  default     = "600s"
}

# ---- access --------------------------------------------------------------

variable "invoker_members" {
  description = "Principals allowed to call the orchestrator and the status endpoint, e.g. [\"user:you@example.org\", \"group:atlas-analysis@example.org\"]. Callers send an identity token. allUsers / allAuthenticatedUsers are refused unless public_endpoints = true."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for m in var.invoker_members : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):\\S+$", m)) || contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "invoker_members must be IAM members such as user:you@example.org, group:…, serviceAccount:…, domain:…, principal:… or principalSet:…."
  }
  validation {
    # anyone (or anyone with a Google account) could submit jobs, which read data and cost money, and read every job
    condition     = var.public_endpoints || length(setintersection(toset(var.invoker_members), toset(["allUsers", "allAuthenticatedUsers"]))) == 0
    error_message = "invoker_members lists allUsers or allAuthenticatedUsers: anyone could submit jobs (which read data and cost money) and read every job. Set public_endpoints = true to mean it, or status_public = true to open the status endpoint alone."
  }
}

variable "public_endpoints" {
  description = "Allow allUsers / allAuthenticatedUsers in invoker_members, making the orchestrator and the status endpoint callable by anyone. Off by default; a deliberate choice, not a typo's consequence."
  type        = bool
  default     = false
}

variable "pushed_ingress" {
  description = "Ingress of the Pub/Sub-fed functions (worker, reducer, dead-letters, orchestrator-jobs). ALLOW_INTERNAL_ONLY (default): only sources inside the project, Pub/Sub push included, reach them. ALLOW_ALL: the internet reaches them too, and IAM alone keeps callers out."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"
  validation {
    condition     = contains(["ALLOW_INTERNAL_ONLY", "ALLOW_ALL"], var.pushed_ingress)
    error_message = "pushed_ingress must be ALLOW_INTERNAL_ONLY or ALLOW_ALL."
  }
}

variable "status_public" {
  description = "Let anyone on the internet read the status endpoint (job ids, dataset names, results). Off by default."
  type        = bool
  default     = false
}

# ---- cost estimate -------------------------------------------------------

variable "prices" {
  description = "Unit list prices (USD) of the job cost estimate shown by the status endpoint. Check them against the live pricing pages of your region."
  type = object({
    vcpuSecond           = number # Cloud Run, request-based billing, tier 1
    gibSecond            = number
    millionRequests      = number
    pubsubTiB            = number # at least 1000 bytes per publish and per push
    firestoreReads100k   = number # regional location; multi-region is about 2x
    firestoreWrites100k  = number
    firestoreDeletes100k = number
    storageClassA10k     = number
    storageClassB10k     = number # every ranged read is one Class B operation
    egressGiB            = number # 0 within one region
  })
  default = {
    vcpuSecond           = 0.000024
    gibSecond            = 0.0000025
    millionRequests      = 0.40
    pubsubTiB            = 40
    firestoreReads100k   = 0.03
    firestoreWrites100k  = 0.09
    firestoreDeletes100k = 0.01
    storageClassA10k     = 0.05
    storageClassB10k     = 0.004
    egressGiB            = 0
  }
}
