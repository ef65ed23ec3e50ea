#!/usr/bin/env bash
# Dependencies layer: every Debian package the workbench uses, installed with
# apt-get.  Idempotent, and fast when everything is there already.
set -euo pipefail
pkgs=(
	linux-source-6.1 linux-source-6.12          # the bases (6.12: bookworm-security)
	b4                                          # preparing the series for posting
	build-essential bc flex bison libelf-dev libssl-dev cpio kmod rsync xz-utils
	git ccache sparse codespell python3 python3-ply python3-git perl    # build, review gates
	qemu-system-x86                             # boots (and the L2 guest)
	qemu-system-arm libc6-dev-arm64-cross libc6-arm64-cross  # arm64 lane (KVM at EL2), its static guest tools
	qemu-system-misc opensbi libc6-dev-riscv64-cross  # riscv64 lane (H extension), OpenSBI, its static guest program
	gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu gcc-s390x-linux-gnu
	gcc-powerpc64le-linux-gnu gcc-mips64el-linux-gnuabi64   # cross builds
	debootstrap                                 # make fresh-machine
	kexec-tools                                 # the kexec scenario (run in the guest, from the host's root)
	busybox-static gnuplot-nox                  # guest userspace, benchmark plots
	bochs bochs-term bochsbios vgabios grub-pc-bin xorriso mtools bsdutils   # Bochs lane (VMX)
)
# The arm64 lane's guest userspace (busybox, bash, libc) comes from
# Debian's arm64 packages, fetched with "apt-get download" and unpacked,
# never installed: apt needs the architecture for that.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	echo "deps: adding the arm64 architecture to apt (for apt-get download only)"
	dpkg --add-architecture arm64
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -q
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages installed"
	exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# kexec-tools is for the guests only: the host itself must not kexec on reboot
echo "kexec-tools kexec-tools/load_kexec boolean false" | debconf-set-selections
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
