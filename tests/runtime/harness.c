// SPDX-License-Identifier: MIT
/*
 * Builds kernel/pgo's profile writer and value profiling into a user-space
 * program compiled with -fprofile-generate, in place of compiler-rt's
 * runtime: at exit the program writes its profile the way the kernel would,
 * to $KPGO_PROFILE_FILE, with its own build ID. With $KPGO_RESET_PROFILE_FILE
 * set it then resets the counts and writes a second profile there.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgo.h"

/* Make each section exist, so that its start and stop symbols do. */
#define PGO_ANCHOR(name) \
	__attribute__((section(#name), used, aligned(1))) static char anchor_##name[0]
PGO_ANCHOR(__llvm_prf_data);
PGO_ANCHOR(__llvm_prf_cnts);
PGO_ANCHOR(__llvm_prf_bits);
PGO_ANCHOR(__llvm_prf_names);
PGO_ANCHOR(__llvm_prf_vals);
PGO_ANCHOR(__llvm_prf_vnds);

static unsigned char build_id[64];
static unsigned int build_id_size;

static int find_build_id(struct dl_phdr_info *info, size_t size, void *unused)
{
	(void)size;
	(void)unused;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *note = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = note + ph->p_memsz;

		if (ph->p_type != PT_NOTE)
			continue;
		while (note + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *hdr = (const ElfW(Nhdr) *)note;
			const char *desc = note + sizeof(*hdr) + ((hdr->n_namesz + 3) & ~3u);

			if (hdr->n_type == NT_GNU_BUILD_ID && hdr->n_descsz <= sizeof(build_id)) {
				memcpy(build_id, desc, hdr->n_descsz);
				build_id_size = hdr->n_descsz;
				return 1;
			}
			note = desc + ((hdr->n_descsz + 3) & ~3u);
		}
	}
	return 1;  /* the first object is the program itself */
}

static void write_profile(const char *path)
{
	size_t bound, size;
	void *buf;
	FILE *out;

	bound = pgo_profile_size_bound(&pgo_vmlinux, build_id_size);
	buf = aligned_alloc(8, (bound + 7) & ~(size_t)7);
	size = buf ? pgo_write_profile(&pgo_vmlinux, build_id, build_id_size, buf, bound) : 0;
	out = fopen(path, "wb");
	if (!size || !out || fwrite(buf, 1, size, out) != size || fclose(out)) {
		fprintf(stderr, "kpgo harness: cannot write %s\n", path);
		_exit(99);
	}
	free(buf);
}

static void at_exit(void)
{
	const char *path = getenv("KPGO_PROFILE_FILE");
	const char *reset_path = getenv("KPGO_RESET_PROFILE_FILE");

	write_profile(path ? path : "default.kpgo.profraw");
	if (reset_path) {
		pgo_reset_counts(&pgo_vmlinux);
		write_profile(reset_path);
	}
}

__attribute__((constructor)) static void install(void)
{
	dl_iterate_phdr(find_build_id, NULL);
	atexit(at_exit);
}
