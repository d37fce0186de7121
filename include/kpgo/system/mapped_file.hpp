// SPDX-License-Identifier: MIT
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "kpgo/system/error.hpp"

namespace kpgo {

// A whole file mapped read-only: profiles are read in place, without a copy, and the pages go
// back to the page cache when the mapping ends, so memory stays bounded by the files in use.
class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("{}: cannot open: {}", path, std::strerror(errno));
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
      int error = errno;
      ::close(fd);
      return fail("{}: cannot read: {}", path, std::strerror(error));
    }
    MappedFile file;
    file.size_ = static_cast<size_t>(st.st_size);
    if (file.size_ > 0) {
      void* data = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (data == MAP_FAILED) {
        int error = errno;
        ::close(fd);
        return fail("{}: cannot map: {}", path, std::strerror(error));
      }
      file.data_ = static_cast<const uint8_t*>(data);
    }
    ::close(fd);
    return file;
  }

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  MappedFile& operator=(MappedFile&& other) noexcept {
    if (this != &other) {
      unmap();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() { unmap(); }

  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  void unmap() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    data_ = nullptr;
  }
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace kpgo
