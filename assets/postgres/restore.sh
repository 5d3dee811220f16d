#!/bin/sh
# Lists the backups of PGDATABASE (no argument), or restores one (a file name from the list, or
# "latest"): into a new database first, which then takes the live one's name; the live database
# is kept under another name, never dropped.
#
# Env: PGHOST PGPORT PGUSER PGDATABASE PGPASSFILE (libpq; PGUSER must be a superuser, and the
#      .pgpass entry must also match the maintenance database "postgres", e.g. with "*")
#      BACKUP_DIR  the directory backup.sh writes
#      INIT_SQL    optional: init.sql, run on the restored database (roles, grants, CONNECT)
# Output: one line per action; on failure the last line names what failed.
set -eu
export LC_ALL=C

say() { printf '%s\n' "$*"; }
die() {
  printf '%s\n' "$*" >&2
  exit 1
}

[ -n "${PGDATABASE:-}" ] || die "restore: PGDATABASE is not set; allowed: the database to restore"
db=$PGDATABASE
case "$db" in
  *[!A-Za-z0-9_]*) die "restore: PGDATABASE=$db; allowed: letters, digits and _" ;;
esac
# <db>_pre_restore_<14 digits> must fit PostgreSQL's 63-byte names, or it would be cut short.
[ "${#db}" -le 36 ] || die "restore: PGDATABASE=$db is longer than 36 characters"
[ -n "${BACKUP_DIR:-}" ] || die "restore: BACKUP_DIR is not set; allowed: the backup directory"
[ -d "$BACKUP_DIR" ] || die "restore: BACKUP_DIR=$BACKUP_DIR is not a directory"
if [ -n "${INIT_SQL:-}" ] && [ ! -r "$INIT_SQL" ]; then
  die "restore: INIT_SQL=$INIT_SQL is not a readable file"
fi
dir=${BACKUP_DIR%/}
digits='[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]'

# A restore must not be cut short by a server-wide statement timeout.
PGOPTIONS="${PGOPTIONS:-} -c statement_timeout=0"
export PGOPTIONS

backups() {
  for path in "$dir/$db"-*Z.dump; do
    base=${path##*/}
    # shellcheck disable=SC2254 # $digits is a pattern on purpose.
    case "$base" in "$db"-${digits}Z.dump) [ -f "$path" ] && printf '%s\n' "$base" ;; esac
  done | sort -r
}

if [ "$#" -eq 0 ]; then
  list=$(backups)
  if [ -z "$list" ]; then
    say "no backups of $db in $dir"
  else
    printf '%s\n' "$list"
  fi
  exit 0
fi
[ "$#" -eq 1 ] || die "usage: restore.sh [<backup file name> | latest]"

if [ "$1" = latest ]; then
  name=$(backups | head -n 1)
  [ -n "$name" ] || die "restore: no backups of $db in $dir"
else
  name=$1
  # shellcheck disable=SC2254
  case "$name" in
    "$db"-${digits}Z.dump) ;;
    *) die "restore: refusing \"$name\": not a backup name ($db-YYYYmmddTHHMMSSZ.dump in $dir); run restore.sh without arguments for the list" ;;
  esac
  [ -f "$dir/$name" ] || die "restore: backup $name not found in $dir"
fi
file="$dir/$name"

# The line of a tool's output that says what went wrong (libpq adds lines after it).
error_line() {
  printf '%s\n' "$1" | awk '
    found == "" && (index($0, "error:") || index($0, "ERROR:") || index($0, "FATAL:")) { found = $0 }
    NF { last = $0 }
    END { print (found != "" ? found : last) }'
}
maint() { psql -X -q -At -v ON_ERROR_STOP=1 --no-password -d postgres "$@"; }
# Runs the current step's command; on failure prints its output and ends the script, the step
# naming the error.
run_step() {
  if ! err=$("$@" 2>&1); then
    printf '%s\n' "$err" >&2
    step="$step: $(error_line "$err")"
    exit 1
  fi
}

say "verifying $name"
if ! err=$(pg_restore --list "$file" 2>&1 >/dev/null); then
  printf '%s\n' "$err" >&2
  die "restore of $name failed: the file is not a readable backup: $(error_line "$err")"
fi

stamp=$(date -u +%Y%m%d%H%M%S)
new="${db}_restore_$stamp"
old="${db}_pre_restore_$stamp"

# Until the swap, a failure drops the new database and leaves the live one as it was.
created=no
closed=no
swapped=no
step="starting"
on_exit() {
  status=$?
  [ "$status" -ne 0 ] || return 0
  if [ "$closed" = yes ] && [ "$swapped" = no ]; then
    if maint -c "ALTER DATABASE \"$db\" WITH ALLOW_CONNECTIONS true" >/dev/null 2>&1; then
      say "opened $db again, unchanged"
    else
      printf 'restore: could not open %s again: ALTER DATABASE "%s" WITH ALLOW_CONNECTIONS true\n' "$db" "$db" >&2
    fi
  fi
  if [ "$created" = yes ] && [ "$swapped" = no ]; then
    if maint -c "DROP DATABASE IF EXISTS \"$new\"" >/dev/null 2>&1; then
      say "dropped $new"
    else
      printf 'restore: could not drop %s; drop it by hand\n' "$new" >&2
    fi
  fi
  printf 'restore of %s into %s failed: %s\n' "$name" "$db" "$step" >&2
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

step="creating database $new"
run_step maint -c "CREATE DATABASE \"$new\" TEMPLATE template0"
created=yes
say "created database $new"

step="pg_restore into $new"
run_step pg_restore --exit-on-error --single-transaction --no-password -d "$new" "$file"
say "restored $name into $new"

step="checking whether $db exists"
exists=$(maint -c "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = '$db'")
if [ "$exists" = 1 ]; then
  step="closing $db"
  closed=yes
  maint -c "ALTER DATABASE \"$db\" WITH ALLOW_CONNECTIONS false"
  ended=$(maint -c "SELECT count(pg_catalog.pg_terminate_backend(pid, 10000)) FROM pg_catalog.pg_stat_activity WHERE datname = '$db' AND pid <> pg_catalog.pg_backend_pid()")
  say "closed $db to new connections; ended $ended session(s)"
  step="renaming $db to $old and $new to $db"
  run_step maint -c "BEGIN; ALTER DATABASE \"$db\" RENAME TO \"$old\"; ALTER DATABASE \"$new\" RENAME TO \"$db\"; COMMIT;"
  swapped=yes
  say "renamed $db to $old (connections off) and $new to $db"
  kept="previous database kept as $old"
else
  step="renaming $new to $db"
  maint -c "ALTER DATABASE \"$new\" RENAME TO \"$db\""
  swapped=yes
  say "renamed $new to $db"
  kept="no previous database"
fi

if [ -n "${INIT_SQL:-}" ]; then
  step="restored $name into $db, but $INIT_SQL failed"
  run_step psql -X -q -v ON_ERROR_STOP=1 --no-password -d "$db" -f "$INIT_SQL"
  say "ran $INIT_SQL on $db"
fi

if [ "$exists" = 1 ]; then
  say "to drop the previous database later: psql -d postgres -c 'DROP DATABASE \"$old\"'"
fi
say "restored $name into $db; $kept"
