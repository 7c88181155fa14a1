terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    # 2.x: the `kubernetes { ... }` block syntax used in main.tf (3.x changed it).
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.17"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.35"
    }
    # random_bytes needs >= 3.6.
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}
