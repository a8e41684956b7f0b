#!/bin/sh
# A backup of the status database: pg_dump's custom format (compressed; pg_restore reads it,
# `statusweb-admin restore-check CONFIG DUMP` proves it restores), written beside the
# newest ones and rotated: the newest BACKUP_KEEP (default 14) stay.
#
#   DATABASE_URL=postgres://... BACKUP_DIR=/backups deploy/backup.sh          # once
#   deploy/backup.sh --every 86400                                            # daily, forever
#
# The compose `backup` service runs it daily (compose.backup.yaml).
set -eu

: "${DATABASE_URL:?set DATABASE_URL (the status database)}"
dir=${BACKUP_DIR:-/backups}
keep=${BACKUP_KEEP:-14}
case "$keep" in ''|*[!0-9]*|0) echo "backup: BACKUP_KEEP must be a whole number of 1 or more" >&2; exit 2 ;; esac
# libpq does not know SQLAlchemy's driver suffix
url=$(printf '%s' "$DATABASE_URL" | sed -e 's#^postgresql+psycopg://#postgresql://#' -e 's#^postgres://#postgresql://#')

once() {
    mkdir -p "$dir"
    stamp=$(date -u +%Y%m%dT%H%M%SZ)-$$  # the pid: two backups in one second keep both
    final="$dir/statusweb-$stamp.dump"
    partial="$dir/.statusweb-$stamp.dump.partial"
    if ! pg_dump --format=custom --no-owner --no-privileges --file="$partial" "$url"; then
        rm -f "$partial"
        echo "backup: pg_dump failed; the earlier backups are untouched" >&2
        return 1
    fi
    mv "$partial" "$final"  # a backup is only ever whole
    # shellcheck disable=SC2012 # our own names: no spaces, no newlines
    ls -1t "$dir"/statusweb-*.dump | tail -n +"$((keep + 1))" | while read -r old; do rm -f -- "$old"; done
    echo "backup: wrote $final ($(wc -c < "$final") bytes); keeping the newest $keep"
}

if [ "${1:-}" = "--every" ]; then
    seconds=${2:?--every needs seconds}
    while true; do
        once || true  # a failed night is logged; the next one tries again
        sleep "$seconds"
    done
else
    once
fi
