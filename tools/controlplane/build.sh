#!/usr/bin/env bash
# Builds the control plane the integration tests run (etcd, kube-apiserver,
# and kubectl for the kubectl plugin test)
# from Go modules, into a cache directory keyed by their versions, and prints
# that directory on stdout. Idempotent: when both binaries exist it builds
# nothing. The cache lives outside the repository so that fresh clones (CI)
# reuse it; a cold build takes about 11 minutes and 3 GB of Go caches.
#
#   tools/controlplane/build.sh         build when needed, print the directory
#   tools/controlplane/build.sh --dir   print the directory only
#
# The directory is $KUBEHARDEN_CONTROLPLANE when set, else
# ${KUBEHARDEN_CACHE:-$HOME/.cache/kubeharden}/controlplane/k8s-<v>-etcd-<v>.
# The versions are the ones pinned in the wrapper modules' go.mod files.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GO=${GO:-go}

# modversion DIR MODULE: the version of MODULE that DIR/go.mod requires.
modversion() {
	local v
	v=$(awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$here/$1/go.mod")
	[[ -n $v ]] || { echo "build.sh: no $2 in $1/go.mod" >&2; exit 1; }
	echo "$v"
}

k8s_version=$(modversion kube-apiserver k8s.io/kubernetes)
etcd_version=$(modversion etcd go.etcd.io/etcd/server/v3)
cache=${KUBEHARDEN_CACHE:-$HOME/.cache/kubeharden}
dir=${KUBEHARDEN_CONTROLPLANE:-$cache/controlplane/k8s-$k8s_version-etcd-$etcd_version}

if [[ ${1:-} == --dir ]]; then
	echo "$dir"
	exit 0
fi
[[ $# -eq 0 ]] || { echo "usage: build.sh [--dir]" >&2; exit 2; }

mkdir -p "$dir"
tmp=
trap '[[ -z $tmp ]] || rm -f "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# build NAME MODDIR PKG LDFLAGS: builds PKG in the wrapper module MODDIR to
# $dir/NAME unless it is there. The binary is written under a temporary name
# and renamed, so an interrupted build never leaves one that looks complete,
# and two builds at once each rename a whole binary.
build() {
	local name=$1 moddir=$2 pkg=$3 ldflags=$4 start=$SECONDS
	[[ -x $dir/$name ]] && return
	echo "build.sh: building $name (cold: minutes)" >&2
	tmp=$(mktemp "$dir/.$name.XXXXXX")
	(cd "$here/$moddir" && GOWORK=off GOFLAGS='-mod=readonly -buildvcs=false' CGO_ENABLED=0 \
		"$GO" build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg")
	chmod 0755 "$tmp"
	mv -f "$tmp" "$dir/$name"
	tmp=
	echo "build.sh: built $dir/$name in $((SECONDS - start)) s" >&2
}

build etcd etcd go.etcd.io/etcd/server/v3 "-s -w"

# The server reports the version it was built as (GET /version), which the
# cluster audit's version checks read: set it the way kubernetes' own build
# (hack/lib/version.sh) does.
minor=${k8s_version#v*.}
minor=${minor%%.*}
major=${k8s_version#v}
major=${major%%.*}
vpkg=k8s.io/component-base/version
build kube-apiserver kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver \
	"-s -w -X $vpkg.gitVersion=$k8s_version -X $vpkg.gitMajor=$major -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"

# kubectl, at the same version, for the test of the kubectl plugin.
build kubectl kubectl . \
	"-s -w -X $vpkg.gitVersion=$k8s_version -X $vpkg.gitMajor=$major -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"

echo "$dir"
