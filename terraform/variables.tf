variable "name" {
  description = "Prefix of every AWS resource name, and the Helm release name."
  type        = string
  default     = "meltano-cloud"
}

variable "region" {
  description = "AWS region of the EKS cluster, the database and Redis."
  type        = string
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}

variable "cluster_name" {
  description = "Name of the existing EKS cluster the chart is installed into."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the EKS cluster; the database and Redis are created in it."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (at least two availability zones) for the database and Redis."
  type        = list(string)
}

variable "namespace" {
  description = "Kubernetes namespace of the API, the worker and their Secret."
  type        = string
  default     = "meltano-cloud"
}

variable "runs_namespace" {
  description = "Kubernetes namespace of the run Jobs (created by the chart)."
  type        = string
  default     = "meltano-runs"
}

variable "image_repository" {
  description = "Repository of the meltano-cloud image (built from ./Dockerfile)."
  type        = string
}

variable "image_tag" {
  description = "Tag of the meltano-cloud image to deploy."
  type        = string
}

variable "hostname" {
  description = "Public host name of the API and dashboard (PUBLIC_URL is https://<hostname>)."
  type        = string
}

variable "ingress_class_name" {
  description = "IngressClass serving hostname (e.g. alb with the AWS Load Balancer Controller)."
  type        = string
  default     = "alb"
}

variable "ingress_annotations" {
  description = "Annotations of the Ingress (e.g. alb.ingress.kubernetes.io/certificate-arn)."
  type        = map(string)
  default = {
    "alb.ingress.kubernetes.io/scheme"       = "internet-facing"
    "alb.ingress.kubernetes.io/target-type"  = "ip"
    "alb.ingress.kubernetes.io/listen-ports" = "[{\"HTTPS\":443}]"
  }
}

variable "api_replicas" {
  description = "Number of API pods."
  type        = number
  default     = 2
}

variable "worker_replicas" {
  description = "Number of worker pods."
  type        = number
  default     = 2
}

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL 15 database."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "Initial storage of the database, in GiB (grows up to 5x automatically)."
  type        = number
  default     = 20
}

variable "db_multi_az" {
  description = "Run the database with a standby in another availability zone."
  type        = bool
  default     = true
}

variable "redis_node_type" {
  description = "ElastiCache node type of Redis 7."
  type        = string
  default     = "cache.t4g.small"
}

variable "redis_num_cache_clusters" {
  description = "Redis nodes (1 primary + replicas); 2 or more enables automatic failover."
  type        = number
  default     = 2
}

variable "deletion_protection" {
  description = "Refuse to delete the database (set false only to tear down a test stack)."
  type        = bool
  default     = true
}

variable "extra_secret_env" {
  description = "Further secret environment variables (GITHUB_OAUTH_CLIENT_SECRET, GITHUB_APP_PRIVATE_KEY, STRIPE_SECRET_KEY, SMTP_URL ...), all documented in .env.example."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "extra_env" {
  description = "Further plain environment variables (GITHUB_OAUTH_CLIENT_ID, GITHUB_APP_ID, LOG_LEVEL ...), merged into the chart's env."
  type        = map(string)
  default     = {}
}
