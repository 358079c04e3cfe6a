#!/usr/bin/env bash
# Debian packages the tests start for real (run as root): an MQTT 5 broker, InfluxDB, PostgreSQL,
# serial pty pairs, and protocol peers we did not write (libcoap, SIPp, mbpoll, pymodbus), Chromium.
set -euo pipefail
# pymodbus's server imports serial and serial_asyncio, which Debian ships only as Recommends of
# python3-pymodbus: with --no-install-recommends they must be named.
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  mosquitto influxdb socat libcoap3-bin sip-tester mbpoll python3-pymodbus python3-serial python3-serial-asyncio chromium curl openssl fonts-wqy-microhei postgresql
# The packages ship services that would hold the default ports; tests start their own on free ports.
for svc in mosquitto influxdb postgresql; do
  (systemctl stop "$svc" || service "$svc" stop) >/dev/null 2>&1 || true
done
