#!/usr/bin/env bash
# A real, clocked audio loopback for the device tests: PipeWire with a mono null sink whose
# monitor is the default source. What is played comes back on the default input.
#   eval "$(scripts/loopback.sh start)"   starts it and prints the variables to export
#   scripts/loopback.sh stop               stops it
# Prints nothing and exits 1 when it cannot be started (tests that need it then skip).
set -u
state=${MIMI_LOOPBACK_DIR:-/tmp/mimi-loopback}
case "${1:-}" in
stop)
    [ -f "$state/pids" ] && xargs -r kill <"$state/pids" 2>/dev/null
    rm -rf "$state"
    exit 0 ;;
start) ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
for cmd in pipewire wireplumber pipewire-pulse pactl dbus-daemon; do
    command -v "$cmd" >/dev/null || { echo "loopback: $cmd missing" >&2; exit 1; }
done
"$0" stop
mkdir -p "$state/run" "$state/config/wireplumber/bluetooth.lua.d" \
         "$state/config/wireplumber/wireplumber.conf.d"
chmod 700 "$state/run"
export XDG_RUNTIME_DIR="$state/run" XDG_CONFIG_HOME="$state/config"
# no systemd/logind or bluetooth here: keep wireplumber from exiting over them
echo 'bluez_monitor.enabled = false' >"$state/config/wireplumber/bluetooth.lua.d/90-off.lua"
cat >"$state/config/wireplumber/wireplumber.conf.d/90-off.conf" <<'CONF'
wireplumber.profiles = { main = { monitor.bluez = disabled, monitor.bluez-midi = disabled,
  support.logind = disabled } }
CONF
bus=$(dbus-daemon --session --fork --print-address=1 --print-pid=1 2>/dev/null) || exit 1
addr=$(echo "$bus" | sed -n 1p)
echo "$bus" | sed -n 2p >"$state/pids"
export DBUS_SESSION_BUS_ADDRESS="$addr"
(pipewire >"$state/pipewire.log" 2>&1 & echo $! >>"$state/pids")
sleep 0.3
(wireplumber >"$state/wireplumber.log" 2>&1 & echo $! >>"$state/pids")
(pipewire-pulse >"$state/pulse.log" 2>&1 & echo $! >>"$state/pids")
ok=""
for _ in $(seq 1 50); do
    if pactl info >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.1
done
[ -n "$ok" ] || { echo "loopback: PipeWire did not start" >&2; "$0" stop; exit 1; }
pactl load-module module-null-sink sink_name=vsink rate=48000 channels=1 \
    channel_map=mono >/dev/null 2>&1 || { "$0" stop; exit 1; }
for _ in $(seq 1 50); do
    pactl set-default-sink vsink 2>/dev/null && pactl set-default-source vsink.monitor \
        2>/dev/null && break
    sleep 0.1
done
echo "export XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR' DBUS_SESSION_BUS_ADDRESS='$addr'"
echo "export MIMI_LOOPBACK=1"
