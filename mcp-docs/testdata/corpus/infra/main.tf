variable "region" {
  description = "GCP region of the Ollama hosts"
  default     = "asia-east1"
}

resource "google_compute_instance" "ollama_a" {
  name         = "gcp-a-ollama"
  machine_type = "g2-standard-8"
  zone         = "asia-east1-b"
  guest_accelerator {
    type  = "nvidia-l4"
    count = 1
  }
}

resource "google_compute_firewall" "wireguard" {
  name    = "allow-wireguard"
  network = "default"
  allow {
    protocol = "udp"
    ports    = ["51820"]
  }
  source_ranges = ["0.0.0.0/0"]
}

resource "google_compute_firewall" "deny_ollama_public" {
  name     = "deny-ollama-public"
  network  = "default"
  priority = 100
  deny {
    protocol = "tcp"
    ports    = ["11434"]
  }
  source_ranges = ["0.0.0.0/0"]
}
