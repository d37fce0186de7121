// SPDX-License-Identifier: MIT
#include "kpgo/system/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

namespace kpgo {

namespace fs = std::filesystem;

Result<AtomicFile> AtomicFile::create(const fs::path& target) {
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail("cannot write {}: directory {} does not exist", target.string(), dir.string());
  }
  if (fs::is_directory(target, ec)) {
    return fail("cannot write {}: it is a directory", target.string());
  }
  // Renaming over a device (/dev/null) or a pipe would replace it with a plain file.
  if (fs::exists(fs::symlink_status(target, ec)) &&
      !fs::is_regular_file(fs::symlink_status(target, ec))) {
    return fail(
        "cannot write {}: not a regular file (kpgo writes a complete file and renames it "
        "into place)",
        target.string());
  }
  // The temporary sits beside the target so that rename() stays on one filesystem.
  KPGO_TRY_BIND(temp, TemporaryFile::create_in(dir, "." + target.filename().string() + ".kpgo"));
  ::chmod(temp->path().c_str(), mode_for(target));
  return AtomicFile(target, std::move(*temp));
}

std::string random_suffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device random;
  uint64_t bits =
      (uint64_t{random()} << 32 | random()) ^ (counter.fetch_add(1) * 0x9e3779b97f4a7c15ULL);
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string suffix;
  for (int i = 0; i < 8; ++i, bits /= 62) suffix += kAlphabet[bits % 62];
  return suffix;
}

mode_t AtomicFile::mode_for(const fs::path& target) {
  // A file replaced keeps its permissions; a new one gets what open(2) would give it.
  struct stat existing{};
  if (::stat(target.c_str(), &existing) == 0) return existing.st_mode & 07777;
  return 0666 & ~process_umask();
}

// Read from /proc rather than by setting it: umask(2) changes it for every thread meanwhile.
mode_t AtomicFile::process_umask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0)
      return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  }
  return 022;
}

Result<> AtomicFile::commit() {
  int fd = ::open(temp_path().c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (::rename(temp_path().c_str(), target_.c_str()) != 0) {
    return fail("cannot rename {} to {}: {}", temp_path().string(), target_.string(),
                std::strerror(errno));
  }
  temp_.release();
  return {};
}

Result<TemporaryFile> TemporaryFile::create_in(const fs::path& dir, std::string_view prefix) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    TemporaryFile file(dir / (std::string(prefix) + "-" + random_suffix()));  // registered first
    int fd = ::open(file.path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
      return file;
    }
    file.release();  // not created: someone else's name, or none at all
    if (errno != EEXIST) {
      return fail("cannot create a temporary file in {}: {}", dir.string(), std::strerror(errno));
    }
  }
  return fail("cannot create a temporary file in {}: every name tried exists", dir.string());
}

Result<TemporaryFile> TemporaryFile::create(std::string_view prefix) {
  const char* tmpdir = std::getenv("TMPDIR");
  return create_in(tmpdir && *tmpdir ? tmpdir : "/tmp", prefix);
}

TemporaryFile::TemporaryFile(TemporaryFile&& other) noexcept
    : path_(std::move(other.path_)),
      registration_(std::move(other.registration_)),
      owner_(other.owner_) {
  other.owner_ = false;
}

TemporaryFile::~TemporaryFile() {
  if (!owner_) return;
  std::error_code ec;
  fs::remove(path_, ec);
}

Result<> write_file_atomically(const fs::path& target, std::string_view content) {
  KPGO_TRY_BIND(file, AtomicFile::create(target));
  {
    std::ofstream out(file->temp_path(), std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) return fail("cannot write {}: write failed", file->temp_path().string());
  }
  return file->commit();
}

}  // namespace kpgo
