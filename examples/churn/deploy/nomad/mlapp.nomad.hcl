# Production on Nomad: a prestart task copies the model into a host volume, where versions
# sit side by side; Nomad's native blue/green (canary = count, auto_promote = false) keeps
# the old allocations until the new ones are promoted.
job "mlapp" {
  datacenters = ["dc1"]
  type        = "service"

  update {
    max_parallel     = 3
    canary           = 3
    auto_promote     = false
    auto_revert      = true
    min_healthy_time = "30s"
  }

  group "mlapp" {
    count = 3

    volume "models" {
      type      = "host"
      source    = "models"
      read_only = false
    }

    task "model" {
      driver = "docker"
      lifecycle {
        hook    = "prestart"
        sidecar = false
      }
      config {
        image   = "ghcr.io/acme/churn-model:1.43.13"
        command = "/bin/sh"
        args    = ["/deploy.sh", "/model"]
      }
      volume_mount {
        volume      = "models"
        destination = "/model"
      }
    }

    task "mlapp" {
      driver = "docker"
      config {
        image = "ghcr.io/acme/mlapp:2.1.0"
        ports = ["http"]
      }
      env {
        MODEL_PATH = "/model/current"
      }
      volume_mount {
        volume      = "models"
        destination = "/model"
        read_only   = true
      }
    }

    network {
      port "http" { to = 8080 }
    }
  }
}
