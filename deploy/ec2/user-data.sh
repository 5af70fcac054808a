#!/bin/bash
# EC2 user data for an auto scaling group whose instances load-balance
# through dnslb. It downloads a pinned dnslb release (checksum verified),
# installs the agent's systemd unit, orders it after the application's unit
# and starts it. The instance registers once its application answers
# /health, renews its lease, and on scale-in (lifecycle hook "drain", with a
# heartbeat timeout longer than TTL + margin) or a spot interruption drains,
# then completes the lifecycle action itself (needs
# autoscaling:CompleteLifecycleAction in the instance role).
set -euo pipefail

# --- Settings -------------------------------------------------------------
DNSLB_VERSION=0.1.0                 # the release to install; change deliberately
DNSLB_RELEASES=https://github.com/dnslb/dnslb/releases/download
APP_UNIT=app.service                # your application's unit; empty: no ordering
ASG_NAME=web-asg                    # auto scaling group and lifecycle hook
LIFECYCLE_HOOK=drain
# Install under another root (tests only; empty on an instance).
ROOT=${DNSLB_ROOT:-}
# ---------------------------------------------------------------------------

# release_arch prints the release architecture of this machine.
release_arch() {
    case "$(uname -m)" in
        x86_64 | amd64) echo amd64 ;;
        aarch64 | arm64) echo arm64 ;;
        *) echo "dnslb: no release for $(uname -m)" >&2; return 1 ;;
    esac
}

# install_release downloads dnslb_<version>_linux_<arch>.tar.gz and
# SHA256SUMS, checks the archive against its line there, and installs the
# binary and the unit it holds.
install_release() {
    local arch archive url tmp
    arch=$(release_arch)
    archive=dnslb_${DNSLB_VERSION}_linux_${arch}.tar.gz
    url=$DNSLB_RELEASES/v$DNSLB_VERSION
    tmp=$(mktemp -d)
    curl -fsSL --retry 5 --retry-delay 2 -o "$tmp/$archive" "$url/$archive"
    curl -fsSL --retry 5 --retry-delay 2 -o "$tmp/SHA256SUMS" "$url/SHA256SUMS"
    awk -v f="$archive" '$2 == f || $2 == "*" f' "$tmp/SHA256SUMS" >"$tmp/sum"
    if [ ! -s "$tmp/sum" ]; then
        echo "dnslb: $archive is not listed in SHA256SUMS" >&2
        return 1
    fi
    (cd "$tmp" && sha256sum -c --quiet sum)
    tar -xzf "$tmp/$archive" -C "$tmp"
    install -D -m 0755 "$tmp/dnslb" "$ROOT/usr/local/bin/dnslb"
    install -D -m 0644 "$tmp/deploy/systemd/dnslb-agent.service" \
        "$ROOT/etc/systemd/system/dnslb-agent.service"
    rm -rf "$tmp"
}

# write_settings writes the agent's settings (read by the unit).
write_settings() {
    install -d "$ROOT/etc/default"
    cat >"$ROOT/etc/default/dnslb-agent" <<CONF
DNSLB_SERVER=http://dns1.internal:5380
DNSLB_ZONE=lb.example.com
DNSLB_NAME=www
DNSLB_WEIGHT=10
DNSLB_TTL=60
DNSLB_IDENTITY=ec2
DNSLB_CHECK=http://127.0.0.1:8080/health
DNSLB_OPTS="--lease 15s --complete-lifecycle-hook $LIFECYCLE_HOOK --asg-name $ASG_NAME"
CONF
}

# write_app_dropin orders the agent after the application: it starts last
# and stops (drains) first, also on `systemctl stop/restart $APP_UNIT`.
write_app_dropin() {
    [ -n "$APP_UNIT" ] || return 0
    install -d "$ROOT/etc/systemd/system/dnslb-agent.service.d"
    cat >"$ROOT/etc/systemd/system/dnslb-agent.service.d/app.conf" <<CONF
[Unit]
After=$APP_UNIT
Wants=$APP_UNIT
PartOf=$APP_UNIT
CONF
}

install_release
write_settings
write_app_dropin
systemctl daemon-reload
# --no-block: user data runs inside cloud-final.service; waiting here for
# a start job ordered after the application could wait on boot itself.
systemctl enable --now --no-block dnslb-agent.service
