// SPDX-License-Identifier: MIT
#include "kpgo/targets/initramfs.hpp"

#include <elf.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/process.hpp"

namespace kpgo::targets {

namespace fs = std::filesystem;

void Initramfs::add_directory(const std::string& path) {
  entries_.push_back({path, S_IFDIR | 0755, {}});
}

void Initramfs::add_file(const std::string& path, std::string content, unsigned mode) {
  entries_.push_back({path, S_IFREG | mode, std::move(content)});
}

Result<> Initramfs::add_host_file(const std::string& path, const fs::path& source, unsigned mode) {
  std::ifstream in(source, std::ios::binary);
  if (!in) return fail("{}: cannot read", source.string());
  std::stringstream content;
  content << in.rdbuf();
  if (mode == 0) {
    struct stat st{};
    ::stat(source.c_str(), &st);
    mode = st.st_mode & 0777;
  }
  add_file(path, content.str(), mode);
  return {};
}

Result<> Initramfs::add_host_tree(const std::string& path, const fs::path& source) {
  std::error_code ec;
  std::vector<fs::path> below;
  for (fs::recursive_directory_iterator it(source, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_symlink()) below.push_back(it->path());
  }
  if (ec) return fail("{}: cannot be listed: {}", source.string(), ec.message());
  std::sort(below.begin(), below.end());
  add_directory(path);
  for (const auto& host : below) {
    std::string inside = path + "/" + fs::relative(host, source).string();
    if (fs::is_directory(host, ec)) {
      add_directory(inside);
    } else {
      KPGO_TRY(add_host_file(inside, host));
    }
  }
  return {};
}

Result<> Initramfs::write(const fs::path& out) const {
  std::string archive;
  auto pad4 = [&] { archive.append((4 - archive.size() % 4) % 4, '\0'); };
  // newc: "070701", then 13 fields of 8 hex digits; name and data each padded to 4 bytes.
  auto append = [&](unsigned ino, const std::string& name, unsigned mode, const std::string& data) {
    archive += fmt::format(
        "070701{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}"
        "{:08X}{:08X}{:08X}",
        ino, mode, 0, 0, (mode & S_IFDIR) ? 2 : 1, 0, data.size(), 0, 0, 0, 0, name.size() + 1, 0);
    archive += name;
    archive += '\0';
    pad4();
    archive += data;
    pad4();
  };
  unsigned ino = 1;
  for (const auto& entry : entries_) append(ino++, entry.path, entry.mode, entry.content);
  append(0, "TRAILER!!!", 0, "");
  return write_file_atomically(out, archive);
}

namespace {

struct BusyboxArch {
  const char* arch;      // kbuild's name
  const char* uname;     // uname -m of a machine of that arch
  uint16_t elf_machine;  // e_machine of its binaries
  const char* debian;    // Debian's name
};
constexpr BusyboxArch kBusyboxArches[] = {
    {"x86_64", "x86_64", EM_X86_64, "amd64"},
    {"arm64", "aarch64", EM_AARCH64, "arm64"},
};

bool host_is(const BusyboxArch& arch) {
  struct utsname uts{};
  ::uname(&uts);
  return std::string_view(uts.machine) == arch.uname;
}

}  // namespace

Result<fs::path> static_busybox(const std::string& arch) {
  const BusyboxArch* wanted = nullptr;
  for (const auto& known : kBusyboxArches) {
    if (arch == known.arch) wanted = &known;
  }
  if (!wanted) return fail("no guest userland for ARCH={}", arch);
  std::optional<fs::path> busybox;
  if (host_is(*wanted)) {
    busybox = find_program("busybox");
    if (!busybox) return fail("busybox not found; apt-get install busybox-static");
  } else {
    busybox = fs::path("/usr/local/lib/kpgo") / arch / "busybox";
    std::error_code ec;
    if (!fs::exists(*busybox, ec)) {
      return fail(
          "{} not found: {} guests need Debian's busybox-static:{} there (bash "
          "scripts/setup.sh unpacks it)",
          busybox->string(), arch, wanted->debian);
    }
  }
  std::ifstream in(*busybox, std::ios::binary);
  Elf64_Ehdr header{};
  in.read(reinterpret_cast<char*>(&header), sizeof header);
  if (!in || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    return fail("{}: not an ELF binary", busybox->string());
  }
  if (header.e_machine != wanted->elf_machine) {
    return fail("{}: not an {} binary (ELF machine {})", busybox->string(), arch, header.e_machine);
  }
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(header.e_phoff + i * sizeof ph));
    in.read(reinterpret_cast<char*>(&ph), sizeof ph);
    if (ph.p_type == PT_INTERP) {
      return fail(
          "{} is dynamically linked and cannot run in the guest; apt-get install "
          "busybox-static",
          busybox->string());
    }
  }
  return *busybox;
}

}  // namespace kpgo::targets
