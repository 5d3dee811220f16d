#!/bin/sh
# The backup container's main process, and its healthcheck.
#   schedule.sh --next <epoch>  print the first backup slot strictly after <epoch>
#   schedule.sh --check         exit 0 when the last backup succeeded less than interval + 1 h ago,
#                               or, before the first success, while the first backup is written
#   schedule.sh                 run a catch-up backup if one is due, then one at every slot, for ever
# Slots are BACKUP_START_UTC + k * BACKUP_INTERVAL_HOURS for every integer k: the interval divides
# a day, so every UTC day has the same slots, and BACKUP_START_UTC is the day's first when it is
# earlier than the interval.
#
# Env: BACKUP_INTERVAL_HOURS  one of 1 2 3 4 6 8 12 24
#      BACKUP_START_UTC       HH:MM (UTC)
#      BACKUP_DIR             where backup.sh writes last-success (--check and the loop)
#      BACKUP_SCRIPT          path of backup.sh, run with sh (the loop)
#      and what backup.sh reads.
set -eu
export LC_ALL=C

say() { printf '%s\n' "$*"; }
die() {
  printf 'schedule: %s\n' "$*" >&2
  exit 2
}

interval_hours() {
  case "${BACKUP_INTERVAL_HOURS:-}" in
    1 | 2 | 3 | 4 | 6 | 8 | 12 | 24) interval=$((BACKUP_INTERVAL_HOURS * 3600)) ;;
    *) die "BACKUP_INTERVAL_HOURS=${BACKUP_INTERVAL_HOURS:-} (unset or invalid); allowed: 1, 2, 3, 4, 6, 8, 12 or 24" ;;
  esac
}

start_utc() {
  value=${BACKUP_START_UTC:-}
  case "$value" in
    [01][0-9]:[0-5][0-9] | 2[0-3]:[0-5][0-9]) ;;
    *) die "BACKUP_START_UTC=$value (unset or invalid); allowed: HH:MM in UTC, 00:00 to 23:59" ;;
  esac
  # No leading zero reaches $(( )): 08 would be read as octal.
  hours=${value%:*}
  minutes=${value#*:}
  start=$((${hours#0} * 3600 + ${minutes#0} * 60))
}

backup_dir() {
  [ -n "${BACKUP_DIR:-}" ] || die "BACKUP_DIR is not set; allowed: the backup directory"
  [ -d "$BACKUP_DIR" ] || die "BACKUP_DIR=$BACKUP_DIR is not a directory"
}

# The first slot strictly after $1 (epoch seconds).
next_slot() {
  offset=$((($1 - start) % interval))
  [ "$offset" -ge 0 ] || offset=$((offset + interval))
  printf '%s\n' $(($1 - offset + interval))
}

# Seconds since the last success, or nothing when there is none.
since_success() {
  last=$(cat "$BACKUP_DIR/last-success" 2>/dev/null || true)
  case "$last" in
    '' | *[!0-9]*) return 0 ;;
  esac
  printf '%s\n' $(($(date -u +%s) - last))
}

utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

case "${1:-}" in
  --next)
    [ "$#" -eq 2 ] || die "usage: schedule.sh --next <epoch seconds>"
    case "$2" in '' | *[!0-9]*) die "--next $2: allowed: epoch seconds (digits)" ;; esac
    interval_hours
    start_utc
    next_slot "$2"
    exit 0
    ;;
  --check)
    interval_hours
    backup_dir
    age=$(since_success)
    limit=$((interval + 3600))
    if [ -z "$age" ]; then
      # The first backup of a new stack may take longer than `up` waits for health: while it is
      # being written (its .partial file exists), the container counts as healthy.
      for partial in "$BACKUP_DIR"/*.dump.partial; do
        if [ -e "$partial" ]; then
          say "healthy: the first backup is being written (${partial##*/})"
          exit 0
        fi
      done
      say "unhealthy: no successful backup yet ($BACKUP_DIR/last-success is missing)"
      exit 1
    fi
    if [ "$age" -ge "$limit" ]; then
      say "unhealthy: the last successful backup is $age s old; allowed: less than $limit s"
      exit 1
    fi
    say "healthy: the last successful backup is $age s old"
    exit 0
    ;;
  '') ;;
  *) die "unknown argument $1; usage: schedule.sh [--next <epoch> | --check]" ;;
esac

interval_hours
start_utc
backup_dir
[ -n "${BACKUP_SCRIPT:-}" ] || die "BACKUP_SCRIPT is not set; allowed: the path of backup.sh"
[ -r "$BACKUP_SCRIPT" ] || die "BACKUP_SCRIPT=$BACKUP_SCRIPT is not a readable file"

# docker stop: end the sleep and exit at once. A running backup is let finish (within the stop
# grace period) rather than leave a half-written file.
sleeper=
trap 'if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null; fi; exit 0' TERM INT

run_backup() {
  if sh "$BACKUP_SCRIPT"; then
    :
  else
    say "schedule: backup failed (exit $?); the next slot tries again"
  fi
}

say "schedule: a backup every $BACKUP_INTERVAL_HOURS h from $BACKUP_START_UTC UTC into $BACKUP_DIR"
age=$(since_success)
if [ -z "$age" ] || [ "$age" -ge "$interval" ]; then
  say "schedule: catch-up backup (last success: ${age:+$age s ago}${age:-none})"
  run_backup
fi
while :; do
  now=$(date -u +%s)
  next=$(next_slot "$now")
  sleep $((next - now)) &
  sleeper=$!
  say "schedule: next backup at $(utc "$next")"
  wait "$sleeper" || true
  sleeper=
  run_backup
done
