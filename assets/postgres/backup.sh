#!/bin/sh
# One backup of PGDATABASE: pg_dump --format=custom (compressed, one consistent snapshot) into
# <BACKUP_DIR>/<PGDATABASE>-YYYYmmddTHHMMSSZ.dump, verified before it gets its name; then the
# last-success stamp, the Prometheus textfile vpn_backup.prom, and pruning by the UTC time in the
# file names.
#
# Env: PGHOST PGPORT PGUSER PGDATABASE PGPASSFILE (libpq)
#      BACKUP_DIR              a writable directory (the backup volume)
#      BACKUP_RETENTION_DAYS   integer >= 1: backups older than this are deleted after a success
# Output: one line per action; on failure the last line names what failed.
set -eu
export LC_ALL=C
# Dumps are for the owner only. last-success and vpn_backup.prom hold no secret and are made
# readable (0644) for a metrics exporter that runs as another user.
umask 077

say() { printf '%s\n' "$*"; }
die() {
  printf 'backup: %s\n' "$*" >&2
  exit 2
}

[ -n "${PGDATABASE:-}" ] || die "PGDATABASE is not set; allowed: the database to back up"
case "$PGDATABASE" in
  *[!A-Za-z0-9_]*) die "PGDATABASE=$PGDATABASE; allowed: letters, digits and _" ;;
esac
[ -n "${BACKUP_DIR:-}" ] || die "BACKUP_DIR is not set; allowed: a writable directory"
if [ ! -d "$BACKUP_DIR" ] || [ ! -w "$BACKUP_DIR" ]; then
  die "BACKUP_DIR=$BACKUP_DIR is not a writable directory"
fi
days=${BACKUP_RETENTION_DAYS:-}
case "$days" in
  '' | *[!0-9]* | 0*) die "BACKUP_RETENTION_DAYS=$days; allowed: an integer >= 1" ;;
esac

db=$PGDATABASE
dir=${BACKUP_DIR%/}
started=$(date -u +%s)
stamp=$(date -u -d "@$started" +%Y%m%dT%H%M%SZ)
name="$db-$stamp.dump"
final="$dir/$name"
partial="$final.partial"
prom="$dir/vpn_backup.prom"

# Metrics: what the last attempt did, and the last success (kept from the file on a failure).
previous_metric() {
  [ -f "$prom" ] || return 0
  awk -v m="$1" 'index($0, m "{") == 1 || index($0, m " ") == 1 { v = $NF } END { if (v != "") print v }' "$prom"
}
write_metrics() {
  ok=$1 last=$2 size=$3 duration=$4
  label="{database=\"$db\"}"
  {
    printf '# HELP vpn_backup_last_success_timestamp_seconds Unix time of the last successful backup (0: none yet).\n'
    printf '# TYPE vpn_backup_last_success_timestamp_seconds gauge\n'
    printf 'vpn_backup_last_success_timestamp_seconds%s %s\n' "$label" "$last"
    printf '# HELP vpn_backup_last_attempt_timestamp_seconds Unix time the last backup attempt started.\n'
    printf '# TYPE vpn_backup_last_attempt_timestamp_seconds gauge\n'
    printf 'vpn_backup_last_attempt_timestamp_seconds%s %s\n' "$label" "$started"
    printf '# HELP vpn_backup_last_attempt_success Whether the last backup attempt succeeded (1) or failed (0).\n'
    printf '# TYPE vpn_backup_last_attempt_success gauge\n'
    printf 'vpn_backup_last_attempt_success%s %s\n' "$label" "$ok"
    printf '# HELP vpn_backup_last_size_bytes Size of the last successful backup file in bytes.\n'
    printf '# TYPE vpn_backup_last_size_bytes gauge\n'
    printf 'vpn_backup_last_size_bytes%s %s\n' "$label" "$size"
    printf '# HELP vpn_backup_last_duration_seconds Duration of the last backup attempt in seconds.\n'
    printf '# TYPE vpn_backup_last_duration_seconds gauge\n'
    printf 'vpn_backup_last_duration_seconds%s %s\n' "$label" "$duration"
  } >"$prom.tmp"
  chmod 644 "$prom.tmp"
  mv -f "$prom.tmp" "$prom"
}

# On any failure: only this run's partial file goes, the metrics say so, nothing else is touched.
# A failure while pruning leaves the new backup and its metrics as they are.
backed_up=no
finished=no
step="starting"
on_exit() {
  status=$?
  [ "$finished" = no ] || return 0
  if [ "$backed_up" = yes ]; then
    printf 'backup of %s made (%s), then failed (exit %s): %s\n' "$db" "$name" "$status" "$step" >&2
    return 0
  fi
  rm -f "$partial" "$prom.tmp" "$dir/last-success.tmp"
  last=$(cat "$dir/last-success" 2>/dev/null || true)
  case "$last" in '' | *[!0-9]*) last=0 ;; esac
  size=$(previous_metric vpn_backup_last_size_bytes)
  write_metrics 0 "$last" "${size:-0}" "$(($(date -u +%s) - started))" 2>/dev/null ||
    printf 'backup: could not write %s\n' "$prom" >&2
  printf 'backup of %s failed (exit %s): %s\n' "$db" "$status" "$step" >&2
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# The line of a tool's output that says what went wrong (libpq adds lines after it).
error_line() {
  printf '%s\n' "$1" | awk '
    found == "" && (index($0, "error:") || index($0, "ERROR:") || index($0, "FATAL:")) { found = $0 }
    NF { last = $0 }
    END { print (found != "" ? found : last) }'
}

[ ! -e "$final" ] || {
  step="$final already exists"
  exit 1
}
say "backing up $db to $final"
step="pg_dump"
if ! err=$(pg_dump --format=custom --no-password --file="$partial" 2>&1); then
  printf '%s\n' "$err" >&2
  step="pg_dump: $(error_line "$err")"
  exit 1
fi
step="verifying $partial"
if ! err=$(pg_restore --list "$partial" 2>&1 >/dev/null) ||
  ! err=$(pg_restore --file=/dev/null "$partial" 2>&1); then
  printf '%s\n' "$err" >&2
  step="verifying $partial: $(error_line "$err")"
  exit 1
fi
step="renaming $partial"
mv "$partial" "$final"
size=$(wc -c <"$final" | tr -d ' ')
finished_at=$(date -u +%s)
step="writing $dir/last-success"
printf '%s\n' "$finished_at" >"$dir/last-success.tmp"
chmod 644 "$dir/last-success.tmp"
mv -f "$dir/last-success.tmp" "$dir/last-success"
step="writing $prom"
write_metrics 1 "$finished_at" "$size" "$((finished_at - started))"
backed_up=yes
say "backed up $db: $name, $size bytes in $((finished_at - started)) s"

# Prune: only <db>-<UTC time>Z.dump names, by the time in the name; never the newest; and
# partial files of earlier runs that were killed.
step="pruning $dir"
cutoff=$(date -u -d "@$((started - days * 86400))" +%Y%m%d%H%M%S)
started_digits=$(date -u -d "@$started" +%Y%m%d%H%M%S)
digits='[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]'
newest=$(
  for path in "$dir/$db"-*Z.dump; do
    base=${path##*/}
    # shellcheck disable=SC2254 # $digits is a pattern on purpose.
    case "$base" in "$db"-${digits}Z.dump) printf '%s\n' "$base" ;; esac
  done | sort | tail -n 1
)
pruned=0
for path in "$dir/$db"-*Z.dump "$dir/$db"-*Z.dump.partial; do
  base=${path##*/}
  # shellcheck disable=SC2254
  case "$base" in
    "$db"-${digits}Z.dump) ;;
    "$db"-${digits}Z.dump.partial) ;;
    *) continue ;;
  esac
  if [ "$base" = "$newest" ] || [ "$base" = "$name" ]; then continue; fi
  time=${base#"$db"-}
  time=${time%%Z.dump*}
  time="${time%T*}${time#*T}"
  case "$base" in
    *.partial) [ "$time" -lt "$started_digits" ] 2>/dev/null || continue ;;
    *) [ "$time" -lt "$cutoff" ] 2>/dev/null || continue ;;
  esac
  rm -f "$path"
  say "deleted $base"
  pruned=$((pruned + 1))
done
finished=yes
say "backup done: $name; $pruned old file(s) deleted, retention $days day(s)"
