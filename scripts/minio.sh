#!/usr/bin/env bash
# Prints the path of a MinIO server binary, building it first if needed.
# MinIO is built with the Go toolchain from the Go module proxy at a pinned
# release (RELEASE.2025-09-07T16-13-09Z) and cached under ~/.cache/o3ml so that
# every clone on this host shares one build.
set -euo pipefail
version=v0.0.0-20250907161309-07c3a429bfed
dir=${O3ML_MINIO_CACHE:-$HOME/.cache/o3ml/minio/$version}
bin=$dir/minio
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "go toolchain not found: cannot build MinIO" >&2; exit 3; }
  echo "[setup] building MinIO $version (first time only, several minutes)" >&2
  mkdir -p "$dir"
  CGO_ENABLED=0 GOBIN="$dir" GOFLAGS=-mod=mod go install "github.com/minio/minio@$version" >&2
fi
echo "$bin"
