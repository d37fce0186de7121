#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The fresh-machine check: what the README promises a newcomer, tried in a brand-new Debian 12
# (bookworm) minbase root that mmdebstrap builds from this machine's own apt sources, so that a
# package installed here by hand cannot hide a missing install step.
#
# In a root that has nothing but minbase and kpgo's tracked files, as root:
#   1. the README's setup (scripts/setup.sh), then a second run that must change nothing;
#   2. kpgo's configure and build, as scripts/test.sh does them;
#   3. kpgo doctor;
#   4. the tests that need no kernel build;
#   5. the .deb (cpack).
# Then, in a second brand-new root holding nothing of kpgo's but that .deb:
#   6. apt-get install ./kpgo_*.deb, then kpgo --version, kpgo doctor and a real merge, from the
#      installed copy: its Depends must bring everything it runs with.
#
# The bare root is cached as a tarball (KPGO_FRESH_ROOT_CACHE, default /var/cache/kpgo-ci),
# keyed by the apt sources and options it was made with; nothing setup installs is cached.
# Needs root (mmdebstrap, chroot, mounts). Prints one line per stage with its time.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${KPGO_FRESH_ROOT_CACHE:-/var/cache/kpgo-ci}
suite=bookworm

say() { printf 'fresh-root: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
stage_start=0
begin() { stage_name=$1; stage_start=$(date +%s); say "$stage_name ..."; }
end() { say "$stage_name: done in $(($(date +%s) - stage_start)) s"; }

[[ $(id -u) -eq 0 ]] || die "needs root (mmdebstrap, chroot and mounts); run it as root or with sudo"
command -v mmdebstrap > /dev/null ||
  die "mmdebstrap is missing; bash scripts/setup.sh installs it (or: apt-get install mmdebstrap)"

# This machine's apt configuration, as apt itself reads it: the source lists, and the options
# (proxies, validity checks) that decide how the mirrors are reached. No host name is written
# into the project: whatever this machine uses, the root uses.
sources=()
[[ -s /etc/apt/sources.list ]] && grep -qE '^\s*deb' /etc/apt/sources.list && sources+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ -f $f ]] && sources+=("$f")
done
((${#sources[@]})) || die "this machine has no apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/)"
aptopts=()
for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
  [[ -f $f ]] && grep -qE '^\s*Acquire' "$f" && aptopts+=("$f")
done
# Keyrings that the sources name beyond Debian's own (which minbase has).
keyrings=()
for f in $(sed -nE 's/.*[Ss]igned-[Bb]y[:=] *([^] ]+).*/\1/p' "${sources[@]}" | sort -u); do
  [[ -f $f && $f != /usr/share/keyrings/debian-archive-* ]] && keyrings+=("$f")
done

key=$( { echo "$suite minbase $(mmdebstrap --version)"; cat "${sources[@]}" "${aptopts[@]}" ${keyrings[@]+"${keyrings[@]}"}; } |
  sha256sum | cut -c1-16)
tarball=$cache/$suite-minbase-$key.tar
total_start=$(date +%s)

if [[ -f $tarball ]]; then
  say "bare $suite root: cached ($tarball)"
else
  begin "bare $suite root: mmdebstrap --variant=minbase"
  mkdir -p "$cache"
  mm_args=(--variant=minbase --format=tar --quiet)
  for f in ${aptopts[@]+"${aptopts[@]}"}; do mm_args+=(--aptopt="$f"); done
  for f in ${keyrings[@]+"${keyrings[@]}"}; do mm_args+=(--setup-hook="mkdir -p \"\$1$(dirname "$f")\"; cp $f \"\$1$f\""); done
  rm -f "$tarball.partial"
  if ! mmdebstrap "${mm_args[@]}" "$suite" "$tarball.partial" "${sources[@]}" 2> "$cache/mmdebstrap.log"; then
    tail -20 "$cache/mmdebstrap.log" >&2
    rm -f "$tarball.partial"
    die "mmdebstrap could not build a $suite root from this machine's apt sources (${sources[*]}); log: $cache/mmdebstrap.log"
  fi
  mv "$tarball.partial" "$tarball"
  end
fi

# A root from the cached tarball, with /proc, /sys, /dev and name resolution; torn down on exit.
roots=()
cleanup() {
  local r
  for r in ${roots[@]+"${roots[@]}"}; do
    umount -R "$r/dev" "$r/sys" "$r/proc" 2> /dev/null || umount -lR "$r/dev" "$r/sys" "$r/proc" 2> /dev/null || true
    if ! mountpoint -q "$r/proc" && ! mountpoint -q "$r/dev"; then rm -rf --one-file-system "$r"; fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
new_root() {  # VAR: makes a root from the tarball and sets VAR to its path
  local r
  r=$(mktemp -d "${TMPDIR:-/var/tmp}/kpgo-fresh-root-XXXXXX")
  roots+=("$r")
  tar -xf "$tarball" -C "$r"
  mount -t proc proc "$r/proc"
  mount -t sysfs sys "$r/sys"
  mount --rbind /dev "$r/dev"
  mount --make-rslave "$r/dev"
  cp -L /etc/resolv.conf "$r/etc/resolv.conf" 2> /dev/null || true
  cp /etc/hosts "$r/etc/hosts"
  # This machine's own certificate authorities (a TLS-inspecting proxy's, say): Debian's
  # ca-certificates, when setup installs it, adds them to the root's bundle, as it did here.
  mkdir -p "$r/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$r/usr/local/share/ca-certificates/" 2> /dev/null || true
  printf -v "$1" '%s' "$r"
}
in_root() {  # ROOT COMMAND: runs COMMAND with bash in ROOT, as root, in a clean environment
  chroot "$1" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI="${CI:-}" \
    ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"} \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -euo pipefail -c "$2"
}
staged() {  # NAME ROOT COMMAND
  begin "$1"
  in_root "$2" "$3" || die "$1 failed in the fresh root"
  end
}

new_root build_root
# kpgo's tracked files as they are in this checkout, nothing else (no build, no caches).
mkdir -p "$build_root/root/kpgo"
git -C "$repo" ls-files -z | (cd "$repo" && tar --null -T - -cf -) | tar -xf - -C "$build_root/root/kpgo"

staged "README setup (bash scripts/setup.sh)" "$build_root" 'cd /root/kpgo && bash scripts/setup.sh'
staged "setup again changes nothing" "$build_root" '
  cd /root/kpgo
  before=$(dpkg-query -W -f="\${Package} \${Version}\n" | sha256sum)
  bash scripts/setup.sh 2> second-setup.log
  grep -q "nothing to do" second-setup.log || { cat second-setup.log; exit 1; }
  [[ $(dpkg-query -W -f="\${Package} \${Version}\n" | sha256sum) == "$before" ]]'
staged "configure and build kpgo" "$build_root" \
  'cd /root/kpgo && bash scripts/test.sh --build-only > build.log 2>&1 || { tail -30 build.log; exit 1; }'
staged "kpgo doctor" "$build_root" 'cd /root/kpgo && build/kpgo doctor'
staged "kpgo .deb (cpack)" "$build_root" \
  'cd /root/kpgo/build && cpack -G DEB > cpack.log 2>&1 || { tail -30 cpack.log; exit 1; }; ls kpgo_*.deb'
deb=$(cd "$build_root/root/kpgo/build" && ls kpgo_*.deb)

# The tests in the first root, and at the same time the .deb into a second one: the one is
# mostly CPU, the other mostly dpkg, so together they take little longer than the longer.
new_root install_root
mkdir -p "$install_root/root/deb"
cp "$build_root/root/kpgo/build/$deb" "$install_root/root/deb/"
install_log=$(mktemp)
install_step="apt-get install ./$deb (a second fresh root, no checkout)"
(
  begin "$install_step"
  in_root "$install_root" "
    cd /root/deb
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ./$deb > install.log 2>&1 || { tail -30 install.log; exit 1; }"
  end
) > "$install_log" 2>&1 &
installer=$!
tests_ok=1
staged_tests() {  # as staged, but a failure is reported after the installer is waited for
  begin "tests that need no kernel build"
  in_root "$build_root" 'cd /root/kpgo && bash scripts/test.sh --quick --no-setup' && end || tests_ok=0
}
staged_tests
install_ok=1
wait "$installer" || install_ok=0
cat "$install_log" >&2
rm -f "$install_log"
((tests_ok)) || die "tests that need no kernel build failed in the fresh root"
((install_ok)) || die "$install_step failed"
staged "installed kpgo: --version, doctor, merge, man page, completion" "$install_root" '
  cd /tmp
  [[ $(command -v kpgo) == /usr/bin/kpgo ]]
  [[ ! -e /root/kpgo ]]
  kpgo --version | tee version.txt
  grep -q "LLVM 19\." version.txt
  kpgo doctor
  echo "int main(int c, char **v) { return c > 1 ? v[1][0] : 0; }" > p.c
  clang-19 -fprofile-generate -o p p.c && LLVM_PROFILE_FILE=p.profraw ./p
  kpgo merge -o p.profdata p.profraw
  llvm-profdata-19 merge -o ref.profdata p.profraw
  cmp p.profdata ref.profdata
  # A dry run reads the config fragments: with no checkout, only /usr/share/kpgo has them.
  kpgo instrument --dry-run --source /usr/src/linux-source-6.12.tar.xz --workdir /tmp/w > dry-run.txt
  grep -q "LLVM=-19 ARCH=x86_64 -j[0-9]* .*olddefconfig" dry-run.txt
  grep -q "KCFLAGS=-mllvm -static-func-strip-dirname-prefix=" dry-run.txt
  man -w kpgo > /dev/null 2>&1 || [[ -f /usr/share/man/man1/kpgo.1.gz ]]
  source /usr/share/bash-completion/completions/kpgo
  COMP_WORDS=(kpgo me); COMP_CWORD=1; _kpgo; [[ ${COMPREPLY[*]} == merge ]]
  ls /usr/share/kpgo/kernel/pgo/Kconfig /usr/share/kpgo/configs/pgo.config /usr/share/man/man1/kpgo.1.gz \
     /usr/share/bash-completion/completions/kpgo /usr/lib/kpgo/libkpgo-profile-llvm19.so > /dev/null'
say "all stages passed in $(($(date +%s) - total_start)) s"
