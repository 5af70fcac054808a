#!/bin/sh
# dnslb: postinst (deb: configure [OLD-VERSION]) and %post (rpm: 1 install,
# 2 upgrade).
#
# Tells a running systemd about the units, and on an upgrade restarts
# dnslb.service if it was running (as Debian's DNS servers do), so that the
# new binary serves: a restart is a lameduck of a few seconds, and the
# other name servers answer meanwhile.
#
# It never enables or starts a service on a first install, unlike Debian's
# bind9, knot or nsd, whose shipped configuration is safe to run: the
# shipped /etc/default/dnslb is a placeholder (it would serve
# lb.example.com on port 53 of every address) and /etc/default/dnslb-agent
# names a server that does not exist. Edit them, then
# `systemctl enable --now dnslb` (README, Installing).
#
# dnslb-agent.service is not restarted on an upgrade either: its stop is a
# drain of TTL + margin that takes the instance out of DNS; restart it when
# it suits (it keeps running the old binary until then).
set -e

[ -d /run/systemd/system ] || exit 0
systemctl daemon-reload >/dev/null 2>&1 || true
case "$1" in
configure) [ -n "${2:-}" ] || exit 0 ;; # deb: an upgrade names the old version
2) ;;                                    # rpm: an upgrade
*) exit 0 ;;
esac
systemctl try-restart dnslb.service >/dev/null 2>&1 || true
