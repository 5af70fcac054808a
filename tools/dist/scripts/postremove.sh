#!/bin/sh
# dnslb: postrm (deb) and %postun (rpm): tells a running systemd that the
# units are gone (or changed).
set -e

[ -d /run/systemd/system ] || exit 0
systemctl daemon-reload >/dev/null 2>&1 || true
