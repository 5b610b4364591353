# Shared by recstrap, recfstab, recchroot and recab (sourced; POSIX sh over busybox or util-linux).
# Installed as /usr/lib/recab/lib.sh by the pipeline's installer layer.

# Where the tools find their data: the live medium, the installed system's identity and key.
: "${RECAB_LIB:=/usr/lib/recab}"
: "${RECAB_MEDIUM:=/run/live/medium}"
: "${RECAB_STATE_DIR:=/var/lib/recab}"
: "${RECAB_EFIVARS:=/sys/firmware/efi/efivars}"
: "${RECAB_PROC:=/proc}"
: "${RECAB_SYSFS:=/sys}"
: "${RECAB_OS_RELEASE:=/etc/os-release}"
# The ESP's mount point; found when unset (see recab's find_esp).
: "${RECAB_ESP:=}"

# systemd-boot's vendor GUID for its EFI variables (LoaderEntryOneShot, LoaderEntryDefault).
LOADER_GUID=4a67b082-0a4c-41cf-b6c7-440b29bb8c4f

die() {
	echo "$PROG: error: $*" >&2
	exit 1
}

usage_error() {
	echo "$PROG: $*" >&2
	echo "Try '$PROG --help'." >&2
	exit 2
}

note() {
	echo "$PROG: $*"
}

# The block device whose GPT partition name or filesystem label is $1 (empty when none).
device_named() {
	for uevent in "$RECAB_SYSFS"/class/block/*/uevent; do
		[ -f "$uevent" ] || continue
		devname=
		partname=
		while IFS='=' read -r key value; do
			case $key in
			DEVNAME) devname=$value ;;
			PARTNAME) partname=$value ;;
			esac
		done <"$uevent"
		if [ -n "$devname" ] && [ "$partname" = "$1" ]; then
			echo "/dev/$devname"
			return 0
		fi
	done
	findfs "LABEL=$1" 2>/dev/null
}

# Size of block device $1 in bytes.
device_bytes() {
	sectors=$(cat "$RECAB_SYSFS/class/block/${1##*/}/size" 2>/dev/null) || return 1
	echo $((sectors * 512))
}

# The mount point of device $1 ("" when it is not mounted).
mount_point_of() {
	while read -r dev dir _rest; do
		if [ "$dev" = "$1" ]; then
			echo "$dir"
			return 0
		fi
	done <"$RECAB_PROC/mounts"
	return 1
}

# "squashfs" or "erofs" from the magic of the image in file $1, with its size from the superblock:
# prints "<type> <bytes>" (squashfs: bytes_used; erofs: blocks << blkszbits).
layer_image_info() {
	magic=$(dd if="$1" bs=4 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
	if [ "$magic" = 68737173 ]; then
		set -- $(dd if="$1" bs=8 skip=5 count=1 2>/dev/null | od -An -tu4)
		echo "squashfs $(($2 * 4294967296 + $1))"
		return 0
	fi
	magic=$(dd if="$1" bs=4 skip=256 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
	if [ "$magic" = e2e1f5e0 ]; then
		bits=$(dd if="$1" bs=1 skip=1036 count=1 2>/dev/null | od -An -tu1 | tr -d ' \n')
		blocks=$(dd if="$1" bs=4 skip=265 count=1 2>/dev/null | od -An -tu4 | tr -d ' \n')
		echo "erofs $((blocks << bits))"
		return 0
	fi
	return 1
}

# The root image's layers on the live medium, base first, one path per line.
medium_layers() {
	for layer in filesystem overlayfs; do
		for type in squashfs erofs; do
			if [ -f "$RECAB_MEDIUM/live/$layer.$type" ]; then
				echo "$RECAB_MEDIUM/live/$layer.$type"
				break
			fi
		done
	done
}

file_bytes() {
	wc -c <"$1" | tr -d ' '
}

# Round $1 up to a multiple of 4096.
align4k() {
	echo $((($1 + 4095) / 4096 * 4096))
}

# Bytes of the slot image the layers $@ make (formats/slot-layers.ts): one layer is the image
# itself; several sit behind a 4 KiB header, each on a 4 KiB boundary.
slot_image_bytes() {
	if [ $# -eq 1 ]; then
		file_bytes "$1"
		return
	fi
	offset=4096
	for layer in "$@"; do offset=$(align4k $((offset + $(file_bytes "$layer")))); done
	echo "$offset"
}

# Writes the slot image of layers $2... to $1 (a block device or file), exactly as
# formats/slot-layers.ts does: one layer from byte 0, or the `pipeline-layers 1` header first.
# Layer paths must not contain whitespace (the medium's do not).
write_slot_image() {
	target=$1
	shift
	if [ $# -eq 1 ]; then
		dd if="$1" of="$target" bs=1M conv=fsync 2>/dev/null
		return
	fi
	layers="$*"
	header=$(mktemp) || return 1
	echo "pipeline-layers 1" >"$header"
	offset=4096
	for layer in $layers; do
		info=$(layer_image_info "$layer") || { rm -f "$header"; echo "$layer is neither squashfs nor erofs" >&2; return 1; }
		echo "${info%% *} $offset ${info#* }" >>"$header"
		offset=$(align4k $((offset + $(file_bytes "$layer"))))
	done
	echo end >>"$header"
	dd if="$header" of="$target" bs=4096 count=1 conv=sync,notrunc 2>/dev/null || { rm -f "$header"; return 1; }
	rm -f "$header"
	offset=4096
	for layer in $layers; do
		dd if="$layer" of="$target" bs=4096 seek=$((offset / 4096)) conv=notrunc 2>/dev/null || return 1
		offset=$(align4k $((offset + $(file_bytes "$layer"))))
	done
	# A file target ends where formats/slot-layers.ts ends it: after the last layer, aligned.
	if [ -f "$target" ]; then truncate -s "$offset" "$target" 2>/dev/null || dd if=/dev/zero of="$target" bs=1 count=0 seek="$offset" 2>/dev/null; fi
	sync
}

# The GPT partition name of block device $1, else its filesystem label ("" when neither).
partition_name() {
	uevent="$RECAB_SYSFS/class/block/${1##*/}/uevent"
	if [ -f "$uevent" ]; then
		name=$(sed -n 's/^PARTNAME=//p' "$uevent")
		[ -n "$name" ] && { echo "$name"; return 0; }
	fi
	blkid "$1" 2>/dev/null | sed -n 's/.* LABEL="\([^"]*\)".*/\1/p'
}

# The device mounted on directory $1 (the last mount there wins).
device_of_dir() {
	dev=
	while read -r d m _rest; do [ "$m" = "$1" ] && dev=$d; done <"$RECAB_PROC/mounts"
	echo "$dev"
}

# Records what a slot holds: write_slot_state FILE STATE VERSION VARIANT (synced: it must
# survive a power cut).
write_slot_state() {
	printf 'state=%s\nversion=%s\nvariant=%s\n' "$2" "$3" "$4" >"$1.tmp" && mv "$1.tmp" "$1" && sync
}

# True when directory $1 is a mount point (busybox builds without the mountpoint applet exist).
is_mount_point() {
	while read -r _dev dir _rest; do [ "$dir" = "$1" ] && return 0; done <"$RECAB_PROC/mounts"
	return 1
}

# KiB available on the filesystem holding $1 (POSIX df output: one line per filesystem).
free_kib() {
	set -- $(df -Pk "$1" | tail -n 1)
	echo "$4"
}
