#!/bin/sh
# make-rpmdb.sh regenerates rpmdb.sqlite, the RPM database (sqlite
# backend, as in UBI 9, RHEL 9, Fedora >= 33) the inventory tests read.
# It needs rpm and rpmbuild (Debian: apt-get install rpm; tested with
# RPM 4.18.0), gpg, sqlite3 and db5.3_load (apt-get install sqlite3
# db5.3-util).
#
# It then writes the same headers into BerkeleyDB hash databases, the
# format of rpm's Packages before the sqlite backend (UBI 8, CentOS 7,
# Amazon Linux 2), with BerkeleyDB's own db_load: Packages (little-endian,
# 4096-byte pages, rpm's default) and Packages.be512 (big-endian, 512-byte
# pages: every header goes to overflow pages). As rpm does, key 0 holds
# the next package number, the other keys are the package numbers in the
# database's byte order. rpm's own read-only BerkeleyDB backend (bdb_ro)
# lists them, which the script checks. The packages are built here from the specs below
# and installed with --justdb: nothing is written outside a temp dir but
# rpmdb.sqlite itself.
#
#   kh-hello        1.0-1.el9         noarch, MIT
#   kh-epoch        2:3.1-4.el9       noarch, epoch 2, GPL-2.0-or-later
#   kh-tools        1.2-3.el9         noarch, Apache-2.0
#   kh-tools-libs   1.2-3.el9         subpackage of kh-tools (SOURCERPM kh-tools-1.2-3.el9.src.rpm)
#   gpg-pubkey      (a key imported with rpm --import: a pseudo-package the inventory skips)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

spec() { # name version release epoch license [subpackage]
	{
		echo "Name: $1"
		echo "Version: $2"
		echo "Release: $3"
		[ -z "$4" ] || echo "Epoch: $4"
		echo "License: $5"
		echo "Summary: kubeharden test package $1"
		echo "BuildArch: noarch"
		echo "%description"
		echo "A package for kubeharden's RPM inventory tests."
		if [ -n "${6:-}" ]; then
			echo "%package $6"
			echo "Summary: subpackage $6 of $1"
			echo "%description $6"
			echo "A subpackage for kubeharden's RPM inventory tests."
			echo "%files $6"
		fi
		echo "%files"
	} >"$tmp/$1.spec"
	rpmbuild --define "_topdir $tmp/build" --define "_buildhost kubeharden.test" \
		--define "use_source_date_epoch_as_buildtime 1" --quiet -bb "$tmp/$1.spec"
}
export SOURCE_DATE_EPOCH=1700000000
spec kh-hello 1.0 1.el9 "" MIT
spec kh-epoch 3.1 4.el9 2 GPL-2.0-or-later
spec kh-tools 1.2 3.el9 "" Apache-2.0 libs

mkdir -p "$tmp/db"
rpm --define "_db_backend sqlite" --dbpath "$tmp/db" --initdb
rpm --define "_db_backend sqlite" --dbpath "$tmp/db" --justdb --nodeps --ignorearch --ignoreos -i "$tmp"/build/RPMS/noarch/*.rpm

export GNUPGHOME="$tmp/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-generate-key "kubeharden test <test@kubeharden.invalid>" ed25519 sign never
gpg --batch --quiet --armor --export test@kubeharden.invalid >"$tmp/key.asc"
rpm --define "_db_backend sqlite" --dbpath "$tmp/db" --import "$tmp/key.asc"

rpm --define "_db_backend sqlite" --dbpath "$tmp/db" -qa --qf '%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM} %{LICENSE}\n' | sort
cp "$tmp/db/rpmdb.sqlite" "$here/rpmdb.sqlite"

bdb() { # lorder pagesize out
	{
		printf 'VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=%s\ndb_lorder=%s\nHEADER=END\n' "$2" "$1"
		if [ "$1" = 1234 ]; then printf ' 00000000\n 05000000\n'; else printf ' 00000000\n 00000005\n'; fi
		sqlite3 "$tmp/db/rpmdb.sqlite" "SELECT printf('%08x', hnum), lower(hex(blob)) FROM Packages" |
			while IFS='|' read -r k v; do
				[ "$1" = 4321 ] || k=$(echo "$k" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/')
				printf ' %s\n %s\n' "$k" "$v"
			done
		printf 'DATA=END\n'
	} >"$tmp/dump"
	mkdir -p "$tmp/bdb$1"
	rm -f "$tmp/bdb$1/Packages"
	db5.3_load -f "$tmp/dump" "$tmp/bdb$1/Packages"
	rpm --define "_db_backend bdb_ro" --dbpath "$tmp/bdb$1" -qa 2>/dev/null | sort | grep -c kh- | grep -qx 4
	cp "$tmp/bdb$1/Packages" "$here/$3"
}
bdb 1234 4096 Packages
bdb 4321 512 Packages.be512
