# `cpack` in the build directory makes kpgo_VERSION_ARCH.deb. Its Depends are what kpgo runs:
# the libraries its binary and backends link (found by dpkg-shlibdeps), a clang, lld and llvm
# of a major it has a backend for, and what kbuild needs to build a kernel. What only some
# commands use (QEMU for collect and bench in a guest, ssh for test machines, Debian's kernel
# sources) is recommended.

# The default LLVM (KPGO_LLVM_DEFAULT, what kpgo uses without --llvm) comes first: apt installs
# the first alternative.
set(kpgo_package_majors ${KPGO_BUILT_BACKENDS})
list(REMOVE_ITEM kpgo_package_majors "" ${KPGO_LLVM_DEFAULT})
if(KPGO_LLVM_DEFAULT IN_LIST KPGO_BUILT_BACKENDS)
  list(PREPEND kpgo_package_majors ${KPGO_LLVM_DEFAULT})
endif()
set(kpgo_llvm_alternatives "")
foreach(tool clang lld llvm)
  set(alternatives "")
  foreach(major IN LISTS kpgo_package_majors)
    if(major)
      list(APPEND alternatives "${tool}-${major}")
    endif()
  endforeach()
  list(JOIN alternatives " | " alternatives)
  if(alternatives)
    list(APPEND kpgo_llvm_alternatives "${alternatives}")
  endif()
endforeach()
list(JOIN kpgo_llvm_alternatives ", " kpgo_llvm_depends)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kpgo)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "kpgo builds a Linux kernel with clang's instrumentation (adding the kernel-side support a
stock kernel lacks), collects profiles from a QEMU guest, test machines over ssh or this
machine, merges them with LLVM's own ProfileData library and rebuilds the kernel with the
profile, reporting how well it matched.")
set(CPACK_PACKAGE_CONTACT "kpgo developers <kpgo@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)  # as Debian's own packages: the debug info stays in the build tree
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "${kpgo_llvm_depends}, make, libc6-dev, bc, bison, flex, libelf-dev, libssl-dev, cpio, kmod, xz-utils, zstd, patch, python3, rsync")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
    "qemu-system-x86, busybox-static, e2fsprogs, openssh-client, linux-source-6.12 | linux-source-6.1")
# arm64 guests need qemu-system-arm and an arm64 busybox, which cannot be installed beside the
# host's (scripts/setup.sh unpacks it; kpgo doctor says what is missing).
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "linux-source-6.1, qemu-system-arm")
include(CPack)
