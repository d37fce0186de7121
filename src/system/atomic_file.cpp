// SPDX-License-Identifier: MIT
#include "kpgo/system/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <random>
#include <cstdlib>
#include <cstring>
#include <fstream>
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
  if (fs::exists(fs::symlink_status(target, ec)) && !fs::is_regular_file(fs::symlink_status(target, ec))) {
    return fail("cannot write {}: not a regular file (kpgo writes a complete file and renames it "
                "into place)", target.string());
  }
  // The temporary sits beside the target so that rename() stays on one filesystem.
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path temp = dir / ("." + target.filename().string() + ".kpgo-" + random_suffix());
    // Registered before it exists: a signal at any instant finds it to remove.
    AtomicFile file(target, temp);
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
      file.done_ = true;  // someone else's file: not ours to remove
      continue;
    }
    if (fd < 0) {
      file.done_ = true;
      return fail("cannot create a temporary file in {}: {}", dir.string(), std::strerror(errno));
    }
    ::fchmod(fd, mode_for(target));
    ::close(fd);
    return file;
  }
  return fail("cannot create a temporary file in {}: every name tried exists", dir.string());
}

std::string random_suffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device random;
  uint64_t bits = (uint64_t{random()} << 32 | random()) ^ (counter.fetch_add(1) * 0x9e3779b97f4a7c15ULL);
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string suffix;
  for (int i = 0; i < 8; ++i, bits /= 62) suffix += kAlphabet[bits % 62];
  return suffix;
}

mode_t AtomicFile::mode_for(const fs::path& target) {
  // A file replaced keeps its permissions; a new one gets what open(2) would give it.
  struct stat existing {};
  if (::stat(target.c_str(), &existing) == 0) return existing.st_mode & 07777;
  return 0666 & ~process_umask();
}

// Read from /proc rather than by setting it: umask(2) changes it for every thread meanwhile.
mode_t AtomicFile::process_umask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  }
  return 022;
}

AtomicFile::AtomicFile(fs::path target, fs::path temp)
    : target_(std::move(target)), temp_(std::move(temp)), registration_(temp_.string()) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : target_(std::move(other.target_)),
      temp_(std::move(other.temp_)),
      done_(other.done_),
      registration_(std::move(other.registration_)) {
  other.done_ = true;
}

AtomicFile::~AtomicFile() {
  if (!done_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

Result<> AtomicFile::commit() {
  int fd = ::open(temp_.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    return fail("cannot rename {} to {}: {}", temp_.string(), target_.string(),
                std::strerror(errno));
  }
  done_ = true;
  return {};
}

Result<TemporaryFile> TemporaryFile::create(std::string_view stem) {
  const char* tmpdir = std::getenv("TMPDIR");
  fs::path dir = tmpdir && *tmpdir ? tmpdir : "/tmp";
  for (int attempt = 0; attempt < 100; ++attempt) {
    TemporaryFile file(dir / (std::string(stem) + "-" + random_suffix()));  // registered first
    int fd = ::open(file.path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
      return file;
    }
    file.owner_ = false;
    if (errno != EEXIST) {
      return fail("cannot create a temporary file in {}: {}", dir.string(), std::strerror(errno));
    }
  }
  return fail("cannot create a temporary file in {}: every name tried exists", dir.string());
}

TemporaryFile::TemporaryFile(TemporaryFile&& other) noexcept
    : path_(std::move(other.path_)), registration_(std::move(other.registration_)) {
  other.owner_ = false;
}

TemporaryFile::~TemporaryFile() {
  if (!owner_) return;
  std::error_code ec;
  fs::remove(path_, ec);
}

Result<> write_file_atomically(const fs::path& target, std::string_view content) {
  auto file = AtomicFile::create(target);
  if (!file) return tl::unexpected(file.error());
  {
    std::ofstream out(file->temp_path(), std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) return fail("cannot write {}: write failed", file->temp_path().string());
  }
  return file->commit();
}

}  // namespace kpgo
