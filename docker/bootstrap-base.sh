#!/usr/bin/env bash
# Makes the base images the Dockerfiles start from (debian:bookworm and debian:bookworm-slim)
# without a registry: debootstrap a minimal Debian 12 and `podman import` it under both names.
# Skips the work when both images already exist (--force rebuilds them). Needs root,
# debootstrap and podman. The mirror defaults to deb.debian.org (override: DEBIAN_MIRROR).
#
#   docker/bootstrap-base.sh [--force]
set -euo pipefail

force=0
[[ "${1:-}" == --force ]] && force=1
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

if ((!force)) && podman image exists debian:bookworm-slim && podman image exists debian:bookworm; then
  exit 0
fi

work="$(mktemp -d /var/tmp/agentwatch-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "bootstrap-base: debootstrap --variant=minbase bookworm ($mirror)" >&2
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
root="$work/rootfs"
# The same apt sources as the official image: main, updates and security.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# What the official slim image does: no documentation, no apt caches kept in layers.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
APT
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/locale/*
tar -C "$root" --numeric-owner -c . |
  podman import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - debian:bookworm-slim >/dev/null
podman tag debian:bookworm-slim debian:bookworm
echo "bootstrap-base: imported debian:bookworm-slim and debian:bookworm" >&2
