terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "eu-central-1"
}

module "vpc" {
  source = "terraform-aws-modules/vpc/aws"
  name   = "main"
}

resource "aws_db_instance" "orders" {
  engine   = "postgres"
  username = "orders"
  password = "Tf-planted-Passw0rd-99"
}

variable "env" {
  default = "prod"
}
