#!/bin/sh
# Applies the SQL migrations of MIGRATIONS_DIR in file-name (byte) order, each file once, each in
# one transaction together with its row in public.schema_migrations.
#
# Env: PGHOST PGPORT PGUSER PGDATABASE PGPASSFILE (libpq; PGUSER is the admin the migrations run as)
#      MIGRATIONS_DIR  directory of *.sql files, names of letters, digits and . _ -
#      INIT_SQL        optional: init.sql, run first (roles, grants, extensions)
# A migration file must not contain BEGIN/COMMIT itself, nor statements that cannot run inside a
# transaction (CREATE INDEX CONCURRENTLY, VACUUM). A file that was applied must not change.
# Output: one line per action; on failure the last line names what failed.
set -eu
export LC_ALL=C

say() { printf '%s\n' "$*"; }
reported=no
die() {
  reported=yes
  printf '%s\n' "$*" >&2
  exit 1
}
# Whatever else stops the script still ends the output with a line that says so.
on_exit() {
  status=$?
  if [ "$status" -ne 0 ] && [ "$reported" = no ]; then
    printf 'migrate: failed (exit %s)\n' "$status" >&2
  fi
}
trap on_exit EXIT

# A server-wide statement timeout must not kill a migration; a lock held by the app must not
# block one (and every query behind it) for ever.
PGOPTIONS="${PGOPTIONS:-} -c statement_timeout=0 -c lock_timeout=60s"
export PGOPTIONS

[ -n "${MIGRATIONS_DIR:-}" ] || die "MIGRATIONS_DIR is not set; allowed: a directory of *.sql files"
[ -d "$MIGRATIONS_DIR" ] || die "MIGRATIONS_DIR=$MIGRATIONS_DIR is not a directory"
[ -n "${PGDATABASE:-}" ] || die "PGDATABASE is not set; allowed: the database to migrate"

# The PostgreSQL error out of psql's output (or its last line when there is none).
error_of() {
  printf '%s\n' "$1" | awk '
    found == "" && (i = index($0, "ERROR:")) > 0 { found = substr($0, i) }
    found == "" && (i = index($0, "FATAL:")) > 0 { found = substr($0, i) }
    found == "" && (i = index($0, "error:")) > 0 { found = substr($0, i + 7) }
    NF { last = $0 }
    END { print (found != "" ? found : last) }'
}

run_psql() {
  psql -X -q -v ON_ERROR_STOP=1 --no-password "$@"
}

if [ -n "${INIT_SQL:-}" ]; then
  [ -r "$INIT_SQL" ] || die "INIT_SQL=$INIT_SQL is not a readable file"
  if ! out=$(run_psql -f "$INIT_SQL" 2>&1 >/dev/null); then
    printf '%s\n' "$out" >&2
    die "init.sql $INIT_SQL failed: $(error_of "$out")"
  fi
  say "ran $INIT_SQL"
fi

# The ledger. Only its owner may write it: default privileges may have granted more.
ledger_sql="
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS public.schema_migrations (
  version text PRIMARY KEY,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
DO \$\$
DECLARE grantee oid;
BEGIN
  FOR grantee IN
    SELECT DISTINCT a.grantee FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
    WHERE c.oid = 'public.schema_migrations'::regclass AND a.grantee <> c.relowner
      AND a.privilege_type <> 'SELECT'
  LOOP
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON public.schema_migrations FROM %s',
      CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE grantee::regrole::text END);
  END LOOP;
END
\$\$;"
if ! out=$(run_psql -c "$ledger_sql" 2>&1 >/dev/null); then
  printf '%s\n' "$out" >&2
  die "creating public.schema_migrations failed: $(error_of "$out")"
fi

if ! recorded=$(run_psql -At -F ' ' -c 'SELECT version, checksum FROM public.schema_migrations' 2>&1); then
  printf '%s\n' "$recorded" >&2
  die "reading public.schema_migrations failed: $(error_of "$recorded")"
fi

files=$(
  for path in "$MIGRATIONS_DIR"/*.sql; do
    [ -f "$path" ] || continue
    printf '%s\n' "${path##*/}"
  done | sort
)

applied=0
skipped=0
# One name a line, taken literally.
IFS='
'
set -f
for name in $files; do
  case "$name" in
    *[!A-Za-z0-9._-]*) die "migration file name $name has characters other than letters, digits and . _ -" ;;
  esac
  file="$MIGRATIONS_DIR/$name"
  sum=$(sha256sum <"$file" | awk '{ print $1 }')
  was=$(printf '%s\n' "$recorded" | awk -v v="$name" '$1 == v { print $2 }')
  if [ "$was" = "$sum" ]; then
    skipped=$((skipped + 1))
    continue
  fi
  if [ -n "$was" ]; then
    die "migration $name was changed after it was applied (recorded $was, now $sum)"
  fi
  # The row goes in first: a second runner blocks on the primary key, then fails, instead of
  # applying the file twice. Name and checksum are plain characters (checked above).
  if ! out=$(run_psql --single-transaction \
    -c "INSERT INTO public.schema_migrations (version, checksum) VALUES ('$name', '$sum')" \
    -f "$file" 2>&1); then
    printf '%s\n' "$out" >&2
    die "migration $name failed: $(error_of "$out")"
  fi
  say "applied $name"
  applied=$((applied + 1))
done

say "migrations: applied $applied, already applied $skipped"
