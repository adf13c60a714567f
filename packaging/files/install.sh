#!/bin/sh
# install.sh: installs the SMM monitoring appliance from this offline bundle. It uses only
# the files next to it and the tools of a base system (sh, coreutils, grep, cmp, find,
# groupadd/useradd); it never touches the network. Run it again from a newer bundle to
# upgrade: the binary and the unit are replaced, configuration you changed is kept.
#
#   sudo ./install.sh [--root DIR] [--prefix DIR] [--enable] [--no-verify]
#
#   --root DIR    install into DIR instead of / (also: DESTDIR=DIR); the user and group are
#                 then added to DIR/etc/passwd and DIR/etc/group (useradd --prefix)
#   --prefix DIR  where the binary, docs and Grafana files go (default /usr/local)
#   --enable      enable and start the service (installing into / on a running systemd)
#   --no-verify   skip checking the bundle against its SHA256SUMS
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=${DESTDIR:-}
prefix=/usr/local
enable=no
verify=yes

die() {
	echo "install.sh: $*" >&2
	exit 1
}

usage() {
	sed -n '7,13s/^# \{0,1\}//p' "$here/install.sh"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
	--root=*) root=${1#*=}; shift ;;
	--prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
	--prefix=*) prefix=${1#*=}; shift ;;
	--enable) enable=yes; shift ;;
	--no-verify) verify=no; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done

# "" stands for the running system's /.
root=${root%/}
if [ -n "$root" ]; then
	[ -d "$root" ] || die "--root $root: not a directory"
	root=$(cd "$root" && pwd)
	[ "$root" = / ] && root=
fi
prefix=${prefix%/}
case "$prefix" in
/*) ;;
*) die "--prefix must be absolute: $prefix" ;;
esac
[ "$(id -u)" -eq 0 ] || die "must run as root (files are owned by root and smm-appliance)"

user=smm-appliance
confdir=/etc/smm-appliance
statedir=/var/lib/smm-appliance

# 1. The bundle is complete and undamaged.
if [ "$verify" = yes ]; then
	if command -v sha256sum >/dev/null 2>&1; then
		(cd "$here" && sha256sum --quiet --strict -c SHA256SUMS) ||
			die "the bundle does not match its SHA256SUMS; copy it again"
	else
		echo "install.sh: sha256sum not found, bundle not verified" >&2
	fi
fi

# 2. The system user and group, created once.
lookup() { # lookup passwd|group NAME -> numeric id, empty if missing
	if [ -z "$root" ]; then
		getent "$1" "$2" 2>/dev/null | cut -d: -f3
	elif [ -f "$root/etc/$1" ]; then
		grep "^$2:" "$root/etc/$1" | cut -d: -f3
	fi
}
if [ -n "$root" ]; then
	[ -f "$root/etc/passwd" ] && [ -f "$root/etc/group" ] ||
		die "$root has no etc/passwd and etc/group to add the user to"
	set -- --prefix "$root"
else
	set --
fi
if [ -z "$(lookup group "$user")" ]; then
	groupadd "$@" --system "$user" || die "cannot create group $user"
fi
if [ -z "$(lookup passwd "$user")" ]; then
	useradd "$@" --system --gid "$user" --home-dir "$statedir" --no-create-home \
		--shell /usr/sbin/nologin --comment "SMM monitoring appliance" "$user" ||
		die "cannot create user $user"
fi
uid=$(lookup passwd "$user")
gid=$(lookup group "$user")
[ -n "$uid" ] && [ -n "$gid" ] || die "user $user not found after creating it"

# put SRC DEST MODE OWNER: copy one file, replacing DEST atomically.
put() {
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2.tmp.$$"
	chown "$4" "$2.tmp.$$"
	chmod "$3" "$2.tmp.$$"
	mv -f "$2.tmp.$$" "$2"
}

# 3. Binary, unit and docs: always replaced.
put "$here/bin/smm-appliance" "$root$prefix/bin/smm-appliance" 0755 0:0
unit=$root/etc/systemd/system/smm-appliance.service
mkdir -p "$(dirname "$unit")"
sed -e "s#^ExecStart=/usr/bin/smm-appliance #ExecStart=$prefix/bin/smm-appliance #" \
	-e "s#^Documentation=file:/usr/share/doc/#Documentation=file:$prefix/share/doc/#" \
	"$here/systemd/smm-appliance.service" >"$unit.tmp.$$"
chmod 0644 "$unit.tmp.$$"
mv -f "$unit.tmp.$$" "$unit"
for f in "$here"/docs/*; do
	put "$f" "$root$prefix/share/doc/smm-appliance/$(basename "$f")" 0644 0:0
done
# The Grafana export: dashboards JSON and provisioning files, the provider pointed at
# where the JSON files now are.
if [ -d "$here/grafana" ]; then
	for rel in $(cd "$here/grafana" && find . -type f | sort); do
		put "$here/grafana/$rel" "$root$prefix/share/smm-appliance/grafana/${rel#./}" 0644 0:0
	done
	prov=$root$prefix/share/smm-appliance/grafana/provisioning/dashboards/smm-appliance.yml
	sed "s#/usr/share/smm-appliance/grafana/#$prefix/share/smm-appliance/grafana/#" "$prov" >"$prov.tmp.$$"
	chmod 0644 "$prov.tmp.$$"
	mv -f "$prov.tmp.$$" "$prov"
fi

# 4. Configuration: root:smm-appliance, 0640 files in 0750 directories. A file that exists
# and differs from the new default is kept; the default is written beside it as *.new.
mkdir -p "$root$confdir"
(cd "$here/configs" && find . -type d) | sort | while read -r d; do
	mkdir -p "$root$confdir/$d"
	chown "0:$gid" "$root$confdir/$d"
	chmod 0750 "$root$confdir/$d"
done
for rel in $(cd "$here/configs" && find . -type f | sort); do
	src=$here/configs/$rel
	dst=$root$confdir/${rel#./}
	if [ ! -e "$dst" ]; then
		put "$src" "$dst" 0640 "0:$gid"
	elif cmp -s "$src" "$dst"; then
		chown "0:$gid" "$dst"
		chmod 0640 "$dst"
	else
		put "$src" "$dst.new" 0640 "0:$gid"
		echo "install.sh: kept your $confdir/${rel#./}; the new default is ${rel#./}.new"
	fi
done

# 5. The environment file for secrets (root-only), never overwritten.
if [ -d "$root/etc/sysconfig" ] && [ ! -d "$root/etc/default" ]; then
	envfile=/etc/sysconfig/smm-appliance
else
	envfile=/etc/default/smm-appliance
fi
for existing in /etc/default/smm-appliance /etc/sysconfig/smm-appliance; do
	if [ -e "$root$existing" ]; then envfile=$existing; fi
done
if [ ! -e "$root$envfile" ]; then
	put "$here/default/smm-appliance" "$root$envfile" 0600 0:0
fi

# 6. Authentication: $confdir/web.yml (root:smm-appliance 0640) with user admin and a
# random password, printed here once and kept in $confdir/initial-admin-password (root
# only). An existing web.yml (an earlier install, your own, a rotated password) is kept.
"$here/bin/smm-appliance" init-auth --web.config.file="$root$confdir/web.yml" --group="$gid" ||
	die "cannot create $confdir/web.yml"

# 7. The state directory: TSDB, silences, notification log.
mkdir -p "$root$statedir"
chown "$uid:$gid" "$root$statedir"
chmod 0750 "$root$statedir"

# 8. systemd, when installing into the running system.
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	if [ "$enable" = yes ]; then
		systemctl enable --now smm-appliance.service
	fi
	# An upgrade: restart a running service on the new binary.
	systemctl try-restart smm-appliance.service
elif [ "$enable" = yes ]; then
	echo "install.sh: --enable ignored: not installing into a running systemd's /" >&2
fi

echo "install.sh: installed smm-appliance into ${root:-/} ($prefix/bin/smm-appliance)"
echo "  secrets:  ${envfile} (see $prefix/share/doc/smm-appliance/install.md)"
echo "  users:    $confdir/web.yml (admin's first password: $confdir/initial-admin-password)"
echo "  targets:  $confdir/targets/*.yml"
echo "  check:    smm-appliance check config --config.dir $confdir"
if [ -z "$root" ] && [ "$enable" = no ]; then
	echo "  start:    systemctl enable --now smm-appliance"
fi
