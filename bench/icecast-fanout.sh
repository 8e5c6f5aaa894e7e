#!/usr/bin/env bash
# Auralis's CPU as an Icecast's audience grows: a station pushed by
# `auralis-host station` to a local icecast2 (deploy/icecast-master.xml,
# loopback port 18011), and N plain-HTTP listeners on the mount from the
# load tester, which reports the station process's CPU. Run from the
# repository root after `cargo build --release -p auralis-host -p auralis-bench`:
#   bash bench/icecast-fanout.sh 10 1000 3000 5000
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-10 1000}")
dir=$(mktemp -d)
chmod 777 "$dir"
sed -e "s#/var/log/icecast2#$dir#" -e 's#<port>8001</port>#<port>18011</port>#' \
    -e 's#<clients>5000</clients>#<clients>8000</clients>#' \
    -e 's#<chroot>0</chroot>#<chroot>0</chroot><changeowner><user>nobody</user><group>nogroup</group></changeowner>#' \
    deploy/icecast-master.xml > "$dir/icecast.xml"
if [ "$(id -u)" != 0 ]; then sed -i 's#<changeowner>.*</changeowner>##' "$dir/icecast.xml"; fi
ulimit -n "$(ulimit -Hn)"
icecast2 -c "$dir/icecast.xml" > "$dir/icecast.out" 2>&1 &
ipid=$!
sleep 1
target/release/auralis-host station --name radio --preset sleep --seed 1 \
    --icecast http://source:CHANGE-ME@127.0.0.1:18011/radio.ogg 2> "$dir/station.log" &
spid=$!
trap 'kill $spid $ipid 2>/dev/null; rm -rf "$dir"' EXIT
sleep 3
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
for n in ${counts[@]}; do
  i0=$(ticks $ipid); t0=$(date +%s.%N)
  echo "== $n Icecast listeners"
  target/release/loadtest --url http://127.0.0.1:18011 --http /radio.ogg --server-pid $spid \
      --clients "$n" --seconds 30 --ramp-ms 2 2>&1 | grep -v '^t='
  i1=$(ticks $ipid); t1=$(date +%s.%N)
  echo "icecast CPU $(echo "($i1-$i0)/($t1-$t0)" | bc -l | cut -c1-5) % of one core (ramp included)"
done
