#!/bin/sh
# build-victoriametrics.sh VERSION OUT: VictoriaMetrics single-node and vmalert at VERSION
# (e.g. v1.151.0) into the directory OUT, for the VictoriaMetrics peer of make bench.
#
# go install builds both from the module (under a minute on 2 cores with a warm module
# cache). When that fails or takes longer than VM_BUILD_TIMEOUT seconds (default 600), the
# peer falls back to Debian's victoria-metrics package (1.79; it ships vmalert), whose
# binaries are linked into OUT. OUT/victoria-metrics.note says which ran; smm-bench puts it
# beside the versions it reads from the binaries.
set -u
version=$1
out=$2
go=${GO:-go}
mod=github.com/VictoriaMetrics/VictoriaMetrics
mkdir -p "$out"
log=$out/victoria-metrics.build.log
if GOBIN=$out CGO_ENABLED=0 timeout "${VM_BUILD_TIMEOUT:-600}" $go install \
	"$mod/app/victoria-metrics@$version" "$mod/app/vmalert@$version" >"$log" 2>&1; then
	echo "go install $mod/app/victoria-metrics@$version and app/vmalert@$version" >"$out/victoria-metrics.note"
	exit 0
fi
why=$(tail -n 1 "$log" | tr -s "\t " " " | sed "s/^ //")
echo "build-victoriametrics.sh: go install of VictoriaMetrics $version failed ($why; see $log); using Debian's victoria-metrics package" >&2
if ! dpkg-query -W -f '${Status}' victoria-metrics 2>/dev/null | grep -q 'ok installed'; then
	${APT_SUDO:-} apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive ${APT_SUDO:-} apt-get install -y -qq --no-install-recommends victoria-metrics || exit 1
	# The package's service is not what is measured.
	if [ -d /run/systemd/system ]; then ${APT_SUDO:-} systemctl disable --now victoria-metrics || true; fi
fi
for b in victoria-metrics vmalert; do
	path=$(dpkg -L victoria-metrics | grep -E "/bin/$b\$" | head -n 1)
	if [ -z "$path" ]; then
		echo "build-victoriametrics.sh: Debian's victoria-metrics package has no $b" >&2
		exit 1
	fi
	ln -sf "$path" "$out/$b"
done
echo "Debian's victoria-metrics package $(dpkg-query -W -f '${Version}' victoria-metrics): go install of $version failed ($why)" >"$out/victoria-metrics.note"
