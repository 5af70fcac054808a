#!/bin/bash
# EC2 user data for an auto scaling group whose instances load-balance
# through dnslb. The instance registers once its application answers
# /health, renews every 5 s, and on scale-in (lifecycle hook "drain", with a
# heartbeat timeout longer than TTL + margin) or a spot interruption drains,
# then completes the lifecycle action itself.
set -euo pipefail
install -m 0755 /opt/dnslb/dnslb /usr/local/bin/dnslb
cat >/etc/default/dnslb-agent <<CONF
DNSLB_SERVER=http://dns1.internal:5380
DNSLB_ZONE=lb.example.com
DNSLB_NAME=www
DNSLB_WEIGHT=10
DNSLB_TTL=60
DNSLB_IDENTITY=ec2
DNSLB_CHECK=http://127.0.0.1:8080/health
CONF
install -m 0644 /opt/dnslb/dnslb-agent.service /etc/systemd/system/dnslb-agent.service
# Complete the ASG lifecycle hook after the drain (needs
# autoscaling:CompleteLifecycleAction in the instance role):
sed -i 's|--log-format json|--log-format json --complete-lifecycle-hook drain --asg-name web-asg|' \
    /etc/systemd/system/dnslb-agent.service
systemctl daemon-reload
systemctl enable --now dnslb-agent
