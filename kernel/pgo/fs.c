// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs interface, as users know it from the 2021 clang PGO proposal:
 *
 *   /sys/kernel/debug/pgo/vmlinux.profraw  read: the profile in raw format
 *   /sys/kernel/debug/pgo/reset            write: zero all counts
 *
 * Opening vmlinux.profraw takes a snapshot into a buffer of its own, so that
 * every read() of that open file sees the same profile while the workload
 * goes on, and a reset meanwhile changes the next snapshot only. Snapshots
 * and resets are serialized by a mutex: both run in process context and may
 * sleep, and nothing they take is needed by the instrumented code.
 */
#define pr_fmt(fmt) "pgo: " fmt

#include <linux/debugfs.h>
#include <linux/elf.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "pgo.h"

struct pgo_snapshot {
	size_t size;
	u8 data[];
};

static DEFINE_MUTEX(pgo_lock);
static u8 pgo_build_id[64];
static u32 pgo_build_id_size;

extern const char __start_notes[], __stop_notes[];

/* ELF note type of a GNU build ID; note headers are alike in ELF32 and ELF64. */
#define PGO_NOTE_GNU_BUILD_ID	3

/* vmlinux's GNU build ID, from its notes, so a profile names its kernel. */
static void __init pgo_find_build_id(void)
{
	const char *note = __start_notes;

	while (note + sizeof(Elf32_Nhdr) <= __stop_notes) {
		const Elf32_Nhdr *hdr = (const Elf32_Nhdr *)note;
		const char *name = note + sizeof(*hdr);
		const char *desc = name + ALIGN(hdr->n_namesz, 4);

		if (desc + ALIGN(hdr->n_descsz, 4) > __stop_notes)
			break;
		if (hdr->n_type == PGO_NOTE_GNU_BUILD_ID && hdr->n_namesz == sizeof("GNU") &&
		    !memcmp(name, "GNU", sizeof("GNU")) &&
		    hdr->n_descsz <= sizeof(pgo_build_id)) {
			memcpy(pgo_build_id, desc, hdr->n_descsz);
			pgo_build_id_size = hdr->n_descsz;
			return;
		}
		note = desc + ALIGN(hdr->n_descsz, 4);
	}
	pr_warn("vmlinux has no build ID; profiles will not name their kernel\n");
}

static int pgo_profile_open(struct inode *inode, struct file *file)
{
	struct pgo_sections sections;
	struct pgo_snapshot *snap;
	size_t bound;

	pgo_kernel_sections(&sections);
	mutex_lock(&pgo_lock);
	bound = pgo_profile_size_bound(&sections, pgo_build_id_size);
	if (!bound) {
		mutex_unlock(&pgo_lock);
		pr_err("the compiler's raw profile version %llu is not supported\n",
		       sections.raw_version & PGO_VERSION_MASK);
		return -EOPNOTSUPP;
	}
	snap = vmalloc(struct_size(snap, data, bound));
	if (!snap) {
		mutex_unlock(&pgo_lock);
		return -ENOMEM;
	}
	snap->size = pgo_write_profile(&sections, pgo_build_id, pgo_build_id_size,
				       snap->data, bound);
	mutex_unlock(&pgo_lock);

	if (pgo_dropped_values())
		pr_warn_ratelimited("%lu values were not recorded: the value node pool is full\n",
				    pgo_dropped_values());
	file->private_data = snap;
	return 0;
}

static ssize_t pgo_profile_read(struct file *file, char __user *buf, size_t count,
				loff_t *ppos)
{
	struct pgo_snapshot *snap = file->private_data;

	return simple_read_from_buffer(buf, count, ppos, snap->data, snap->size);
}

static int pgo_profile_release(struct inode *inode, struct file *file)
{
	vfree(file->private_data);
	return 0;
}

static const struct file_operations pgo_profile_fops = {
	.owner		= THIS_MODULE,
	.open		= pgo_profile_open,
	.read		= pgo_profile_read,
	.llseek		= default_llseek,
	.release	= pgo_profile_release,
};

static ssize_t pgo_reset_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	struct pgo_sections sections;

	pgo_kernel_sections(&sections);
	mutex_lock(&pgo_lock);
	pgo_reset_counts(&sections);
	mutex_unlock(&pgo_lock);
	return count;
}

static const struct file_operations pgo_reset_fops = {
	.owner		= THIS_MODULE,
	.write		= pgo_reset_write,
	.llseek		= noop_llseek,
};

static int __init pgo_init(void)
{
	struct pgo_sections sections;
	struct dentry *dir;

	pgo_kernel_sections(&sections);
	pgo_find_build_id();
	dir = debugfs_create_dir("pgo", NULL);
	debugfs_create_file("vmlinux.profraw", 0400, dir, NULL, &pgo_profile_fops);
	debugfs_create_file("reset", 0200, dir, NULL, &pgo_reset_fops);
	pr_info("raw profile version %llu, %zu bytes of counters\n",
		sections.raw_version & PGO_VERSION_MASK,
		(size_t)(sections.counters_end - sections.counters));
	return 0;
}
late_initcall(pgo_init);
