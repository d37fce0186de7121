// SPDX-License-Identifier: MIT
#include "kpgo/kernel/elf.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <vector>

namespace kpgo::kernel {

namespace {

bool read_at(std::ifstream& in, uint64_t offset, void* to, size_t size) {
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(static_cast<char*>(to), static_cast<std::streamsize>(size));
  return static_cast<size_t>(in.gcount()) == size;
}

}  // namespace

Result<std::string> read_build_id(const std::filesystem::path& elf) {
  std::ifstream in(elf, std::ios::binary);
  if (!in) return fail("{}: cannot open", elf.string());
  Elf64_Ehdr header;
  if (!read_at(in, 0, &header, sizeof header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
    return fail("{}: not a 64-bit little-endian ELF file", elf.string());
  }
  if (header.e_shentsize != sizeof(Elf64_Shdr)) {
    return fail("{}: unexpected section header layout", elf.string());
  }
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  if (!read_at(in, header.e_shoff, sections.data(), sections.size() * sizeof(Elf64_Shdr))) {
    return fail("{}: section headers cut off", elf.string());
  }
  for (const auto& section : sections) {
    if (section.sh_type != SHT_NOTE || section.sh_size > (1u << 20)) continue;
    std::vector<uint8_t> notes(section.sh_size);
    if (!read_at(in, section.sh_offset, notes.data(), notes.size())) continue;
    size_t offset = 0;
    while (offset + sizeof(Elf64_Nhdr) <= notes.size()) {
      Elf64_Nhdr note;
      std::memcpy(&note, notes.data() + offset, sizeof note);
      size_t name_at = offset + sizeof note;
      size_t desc_at = name_at + ((note.n_namesz + 3) & ~3u);
      if (desc_at + note.n_descsz > notes.size()) break;
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 &&
          std::memcmp(notes.data() + name_at, "GNU", 4) == 0) {
        std::string hex;
        for (uint32_t i = 0; i < note.n_descsz; ++i) hex += fmt::format("{:02x}", notes[desc_at + i]);
        return hex;
      }
      offset = desc_at + ((note.n_descsz + 3) & ~3u);
    }
  }
  return fail("{}: has no GNU build ID note (link with --build-id)", elf.string());
}

}  // namespace kpgo::kernel
