#!/usr/bin/env bash
# Peak private (anonymous) and file-backed resident memory of a command, sampled every 20 ms
# from /proc/PID/status. Max RSS (what /usr/bin/time reports) adds both: for git and relman
# most of it is the memory-mapped pack, shared page cache that the kernel can drop.
# Usage: bench/peak-memory.sh COMMAND [ARGS...]   (stdout of the command is discarded)
set -euo pipefail
"$@" > /dev/null &
pid=$!
anon=0 file=0
while kill -0 "$pid" 2>/dev/null; do
  a=$(awk '/^RssAnon/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  f=$(awk '/^RssFile/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ "${a:-0}" -gt "$anon" ] && anon=$a
  [ "${f:-0}" -gt "$file" ] && file=$f
  sleep 0.02
done
wait "$pid"
echo "peak anonymous $((anon / 1024)) MB, peak file-backed $((file / 1024)) MB: $*"
