#!/bin/sh
# make-rpmdb.sh regenerates rpmdb.sqlite, the RPM database (sqlite
# backend, as in UBI 9, RHEL 9, Fedora >= 33) the inventory tests read.
# It needs rpm and rpmbuild (Debian: apt-get install rpm; tested with
# RPM 4.18.0) and gpg. The packages are built here from the specs below
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
