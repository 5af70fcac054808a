#!/bin/sh
# dnslb: prerm (deb: remove | upgrade | ...) and %preun (rpm: 0 erase,
# 1 upgrade).
#
# On removal, stops and disables both services, as Debian packages do: the
# agent's stop is its drain, so the instance leaves DNS gracefully (this
# waits for the drain). An upgrade stops nothing (see postinstall).
# The data (/var/lib/dnslb, /var/lib/dnslb-agent) stays, also on purge:
# it holds the registrations; remove it by hand if it is no longer needed.
set -e

[ -d /run/systemd/system ] || exit 0
case "$1" in
remove | 0)
	systemctl disable --now dnslb-agent.service dnslb.service >/dev/null 2>&1 || true
	;;
esac
