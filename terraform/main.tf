# meltano-cloud on AWS: PostgreSQL 15 (RDS), Redis 7 (ElastiCache), the
# application secrets in Secrets Manager, all encrypted with one KMS key, and
# the Helm chart of ../helm/meltano-cloud installed into an existing EKS cluster.
# Validated by test/deploy-config/terraform.spec.ts; never applied from this repository.

provider "aws" {
  region = var.region
  default_tags {
    tags = var.tags
  }
}

data "aws_eks_cluster" "this" {
  name = var.cluster_name
}

data "aws_eks_cluster_auth" "this" {
  name = var.cluster_name
}

provider "kubernetes" {
  host                   = data.aws_eks_cluster.this.endpoint
  cluster_ca_certificate = base64decode(data.aws_eks_cluster.this.certificate_authority[0].data)
  token                  = data.aws_eks_cluster_auth.this.token
}

provider "helm" {
  kubernetes {
    host                   = data.aws_eks_cluster.this.endpoint
    cluster_ca_certificate = base64decode(data.aws_eks_cluster.this.certificate_authority[0].data)
    token                  = data.aws_eks_cluster_auth.this.token
  }
}

locals {
  # Pods of the cluster reach the database and Redis through the cluster security group.
  cluster_security_group_id = data.aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
  db_name                   = "meltano_cloud"
  db_username               = "meltano_cloud"
  # TLS without certificate verification: the image carries no RDS CA bundle (see README).
  database_url = "postgresql://${local.db_username}:${random_password.db.result}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${local.db_name}?sslmode=no-verify"
  redis_url    = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:6379"
  app_secrets  = jsondecode(aws_secretsmanager_secret_version.app.secret_string)
}

# ------------------------------------------------------------------ KMS

resource "aws_kms_key" "this" {
  description             = "${var.name}: database, Redis and application secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# ------------------------------------------------------------ secrets

# MASTER_KEY wraps every organization's data key: losing it loses every stored
# secret, so it lives in Secrets Manager (30 days recovery window) and is
# rotated with PREVIOUS_MASTER_KEYS, never by replacing this resource.
resource "random_bytes" "master_key" {
  length = 32
}

resource "random_password" "session_secret" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "app" {
  name                    = "${var.name}/app"
  description             = "meltano-cloud MASTER_KEY and SESSION_SECRET"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    MASTER_KEY     = random_bytes.master_key.base64
    SESSION_SECRET = random_password.session_secret.result
  })
}

# ----------------------------------------------------------- PostgreSQL

resource "random_password" "db" {
  length  = 40
  special = false
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "PostgreSQL of ${var.name}, reachable from the EKS cluster only"
  vpc_id      = var.vpc_id

  ingress {
    description     = "PostgreSQL from the cluster"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [local.cluster_security_group_id]
  }
}

resource "aws_db_subnet_group" "this" {
  name       = "${var.name}-db"
  subnet_ids = var.private_subnet_ids
}

resource "aws_db_instance" "this" {
  identifier                 = var.name
  engine                     = "postgres"
  engine_version             = "15"
  instance_class             = var.db_instance_class
  allocated_storage          = var.db_allocated_storage
  max_allocated_storage      = var.db_allocated_storage * 5
  storage_type               = "gp3"
  storage_encrypted          = true
  kms_key_id                 = aws_kms_key.this.arn
  db_name                    = local.db_name
  username                   = local.db_username
  password                   = random_password.db.result
  db_subnet_group_name       = aws_db_subnet_group.this.name
  vpc_security_group_ids     = [aws_security_group.db.id]
  publicly_accessible        = false
  multi_az                   = var.db_multi_az
  backup_retention_period    = 14
  auto_minor_version_upgrade = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = false
  final_snapshot_identifier  = "${var.name}-final"
  copy_tags_to_snapshot      = true
}

# ---------------------------------------------------------------- Redis

resource "random_password" "redis" {
  length  = 64
  special = false
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "Redis of ${var.name}, reachable from the EKS cluster only"
  vpc_id      = var.vpc_id

  ingress {
    description     = "Redis from the cluster"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = [local.cluster_security_group_id]
  }
}

resource "aws_elasticache_subnet_group" "this" {
  name       = "${var.name}-redis"
  subnet_ids = var.private_subnet_ids
}

# BullMQ needs Redis to never evict keys.
resource "aws_elasticache_parameter_group" "this" {
  name   = "${var.name}-redis7"
  family = "redis7"

  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id       = var.name
  description                = "meltano-cloud queues"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.redis_node_type
  num_cache_clusters         = var.redis_num_cache_clusters
  automatic_failover_enabled = var.redis_num_cache_clusters > 1
  multi_az_enabled           = var.redis_num_cache_clusters > 1
  port                       = 6379
  parameter_group_name       = aws_elasticache_parameter_group.this.name
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.redis.id]
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.this.arn
  transit_encryption_enabled = true
  auth_token                 = random_password.redis.result
  snapshot_retention_limit   = 3
}

# ------------------------------------------------------------ Kubernetes

resource "kubernetes_namespace" "app" {
  metadata {
    name = var.namespace
  }
}

# The chart's existingSecret: everything sensitive the processes read (envFrom).
resource "kubernetes_secret" "app" {
  metadata {
    name      = "${var.name}-env"
    namespace = kubernetes_namespace.app.metadata[0].name
  }
  data = merge(var.extra_secret_env, {
    DATABASE_URL   = local.database_url
    REDIS_URL      = local.redis_url
    MASTER_KEY     = local.app_secrets.MASTER_KEY
    SESSION_SECRET = local.app_secrets.SESSION_SECRET
  })
}

resource "helm_release" "meltano_cloud" {
  name      = var.name
  namespace = kubernetes_namespace.app.metadata[0].name
  chart     = "${path.module}/../helm/meltano-cloud"
  # The pre-install/pre-upgrade migration Job must finish before pods roll.
  wait    = true
  timeout = 900

  values = [templatefile("${path.module}/values.yaml.tftpl", {
    image_repository    = var.image_repository
    image_tag           = var.image_tag
    existing_secret     = kubernetes_secret.app.metadata[0].name
    public_url          = "https://${var.hostname}"
    hostname            = var.hostname
    ingress_class_name  = var.ingress_class_name
    ingress_annotations = var.ingress_annotations
    runs_namespace      = var.runs_namespace
    api_replicas        = var.api_replicas
    worker_replicas     = var.worker_replicas
    extra_env           = var.extra_env
    # Rolls the pods when a secret value changes (envFrom is read at start only);
    # a hash of random secrets reveals nothing.
    secret_checksum = nonsensitive(sha256(jsonencode(kubernetes_secret.app.data)))
  })]
}
