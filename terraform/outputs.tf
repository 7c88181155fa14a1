output "public_url" {
  description = "PUBLIC_URL of the deployment."
  value       = "https://${var.hostname}"
}

output "database_endpoint" {
  description = "Host:port of the PostgreSQL 15 instance."
  value       = aws_db_instance.this.endpoint
}

output "redis_endpoint" {
  description = "Primary endpoint of Redis 7."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "app_secret_arn" {
  description = "Secrets Manager secret holding MASTER_KEY and SESSION_SECRET (back it up)."
  value       = aws_secretsmanager_secret.app.arn
}

output "kms_key_arn" {
  description = "KMS key encrypting the database, Redis and the application secret."
  value       = aws_kms_key.this.arn
}

output "kubernetes_secret_name" {
  description = "Secret the chart reads its sensitive environment from (existingSecret)."
  value       = kubernetes_secret.app.metadata[0].name
}

output "helm_release" {
  description = "Namespace and name of the Helm release."
  value       = "${helm_release.meltano_cloud.namespace}/${helm_release.meltano_cloud.name}"
}
