terraform {
  required_providers {
    google = { source = "hashicorp/google", version = "~> 6.10" }
  }
  backend "gcs" {
    bucket = "ops-terraform-state"
    prefix = "gcp/ollama"
  }
}

variable "ssh_key_path" { type = string }
variable "db_password_secret_id" { default = "projects/ops/secrets/db-password" }

resource "google_compute_instance" "ollama_a" {
  name         = "ollama-a"
  machine_type = "g2-standard-8"
  zone         = "asia-east1-b"
  boot_disk {
    initialize_params { image = "ubuntu-os-cloud/ubuntu-2204-lts" size = 200 }
  }
  network_interface {
    network = "default"
  }
  metadata = {
    enable-oslogin = "TRUE"
  }
  service_account {
    scopes = ["cloud-platform"]
  }
  labels = { role = "ollama", lane = "alert-fast" }
}

resource "google_secret_manager_secret_iam_member" "reader" {
  secret_id = var.db_password_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:ollama@ops.iam.gserviceaccount.com"
}
