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

Result<std::vector<Elf64_Shdr>> read_sections(std::ifstream& in, const std::filesystem::path& elf) {
  if (!in) return fail("{}: cannot open", elf.string());
  Elf64_Ehdr header;
  if (!read_at(in, 0, &header, sizeof header) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB) {
    return fail("{}: not a 64-bit little-endian ELF file", elf.string());
  }
  if (header.e_shentsize != sizeof(Elf64_Shdr)) {
    return fail("{}: unexpected section header layout", elf.string());
  }
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  if (!read_at(in, header.e_shoff, sections.data(), sections.size() * sizeof(Elf64_Shdr))) {
    return fail("{}: section headers cut off", elf.string());
  }
  return sections;
}

std::vector<char> read_section(std::ifstream& in, const Elf64_Shdr& section) {
  std::vector<char> bytes(section.sh_size);
  if (!read_at(in, section.sh_offset, bytes.data(), bytes.size())) bytes.clear();
  return bytes;
}

// Each section's name, from the section name table, in section order ("" where it is damaged).
Result<std::vector<std::string>> section_names(std::ifstream& in, const std::filesystem::path& elf,
                                               const std::vector<Elf64_Shdr>& sections) {
  Elf64_Ehdr header;
  read_at(in, 0, &header, sizeof header);
  if (header.e_shstrndx >= sections.size()) return fail("{}: no section names", elf.string());
  std::vector<char> table = read_section(in, sections[header.e_shstrndx]);
  std::vector<std::string> names;
  for (const auto& section : sections) {
    uint32_t at = section.sh_name;
    names.push_back(at < table.size() ? std::string(table.data() + at,
                                                    strnlen(table.data() + at, table.size() - at))
                                      : std::string());
  }
  return names;
}

}  // namespace

Result<uint64_t> section_size(const std::filesystem::path& elf, const std::string& name) {
  std::ifstream in(elf, std::ios::binary);
  KPGO_TRY_BIND(sections, read_sections(in, elf));
  KPGO_TRY_BIND(names, section_names(in, elf, *sections));
  uint64_t size = 0;
  for (size_t i = 0; i < sections->size(); ++i) {
    if ((*names)[i] == name) size += (*sections)[i].sh_size;
  }
  return size;
}

Result<TextLayout> read_text_layout(const std::filesystem::path& object) {
  std::ifstream in(object, std::ios::binary);
  KPGO_TRY_BIND(sections, read_sections(in, object));
  // Section names, as in the object file; clang names a function's section after its profile:
  // .text.hot.[NAME] or .text.unlikely.[NAME].
  KPGO_TRY_BIND(names, section_names(in, object, *sections));
  enum class Kind { other, text, hot, unlikely };
  std::vector<Kind> kinds(sections->size(), Kind::other);
  for (size_t i = 0; i < sections->size(); ++i) {
    const std::string& name = (*names)[i];
    if (name.rfind(".text.hot", 0) == 0)
      kinds[i] = Kind::hot;
    else if (name.rfind(".text.unlikely", 0) == 0)
      kinds[i] = Kind::unlikely;
    else if (name.rfind(".text", 0) == 0)
      kinds[i] = Kind::text;
  }
  TextLayout layout;
  for (const auto& section : *sections) {
    if (section.sh_type != SHT_SYMTAB || section.sh_entsize != sizeof(Elf64_Sym)) continue;
    std::vector<char> bytes = read_section(in, section);
    for (size_t at = 0; at + sizeof(Elf64_Sym) <= bytes.size(); at += sizeof(Elf64_Sym)) {
      Elf64_Sym symbol;
      std::memcpy(&symbol, bytes.data() + at, sizeof symbol);
      if (ELF64_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_shndx >= kinds.size()) continue;
      switch (kinds[symbol.st_shndx]) {
        case Kind::hot:
          ++layout.hot;
          ++layout.functions;
          break;
        case Kind::unlikely:
          ++layout.unlikely;
          ++layout.functions;
          break;
        case Kind::text:
          ++layout.functions;
          break;
        case Kind::other:
          break;
      }
    }
  }
  if (layout.functions == 0) return fail("{}: no functions in text sections", object.string());
  return layout;
}

Result<std::string> read_build_id(const std::filesystem::path& elf) {
  std::ifstream in(elf, std::ios::binary);
  KPGO_TRY_BIND(sections, read_sections(in, elf));
  for (const auto& section : *sections) {
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
        for (uint32_t i = 0; i < note.n_descsz; ++i)
          hex += fmt::format("{:02x}", notes[desc_at + i]);
        return hex;
      }
      offset = desc_at + ((note.n_descsz + 3) & ~3u);
    }
  }
  return fail("{}: has no GNU build ID note (link with --build-id)", elf.string());
}

}  // namespace kpgo::kernel
