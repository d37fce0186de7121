// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs interface, as users know it from the 2021 clang PGO proposal, with
 * one file per module:
 *
 *   /sys/kernel/debug/pgo/vmlinux.profraw  read: vmlinux's raw profile
 *   /sys/kernel/debug/pgo/MODULE.profraw   read: a module's raw profile
 *   /sys/kernel/debug/pgo/reset            write: zero all counts
 *   /sys/kernel/debug/pgo/values           read: value node pool use, per file
 *                                          (an unloaded module: at its unload)
 *
 * Opening a profile takes a snapshot into a buffer of its own, so that every
 * read() of that open file sees the same profile while the workload goes on,
 * and a reset meanwhile changes the next snapshot only.
 *
 * A module's file outlives the module: at unload its profile is kept (as
 * gcov_persist keeps counts) and the file serves that copy until a reset. If
 * the same build of the module loads again first, the kept counters are
 * added into the new instance's and the file goes on with it; the values the
 * earlier instance recorded are given up then.
 *
 * pgo_lock serializes snapshots, resets, module loads and unloads. All run
 * in process context and may sleep; nothing they hold is needed by the
 * instrumented code. A file is removed from debugfs only with pgo_lock
 * released, since the removal waits for the file's open() to return.
 */
#define pr_fmt(fmt) "pgo: " fmt

#include <linux/debugfs.h>
#include <linux/elf.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "pgo.h"

struct pgo_snapshot {
	size_t size;
	u8 data[];
};

/* A value node pool's use, as the values file reports it. */
struct pgo_value_stats {
	long pool_nodes;
	unsigned long nodes_used;
	long values_dropped;
	long append_races;
};

/* A profile file: vmlinux, a loaded module, or an unloaded module's copy. */
struct pgo_file {
	struct list_head list;
	char name[MODULE_NAME_LEN];
	struct pgo_binary *binary;	/* NULL once the module is unloaded */
	struct pgo_snapshot *kept;	/* the module's profile at unload */
	struct pgo_value_stats kept_values;	/* its pool's use at unload */
	u8 build_id[PGO_BUILD_ID_MAX];
	u32 build_id_size;
	struct dentry *dentry;
};

static DEFINE_MUTEX(pgo_lock);
static LIST_HEAD(pgo_files);
static struct dentry *pgo_dir;
static struct pgo_file pgo_vmlinux_file = {
	.name = "vmlinux",
	.binary = &pgo_vmlinux,
};

/* ELF note type of a GNU build ID; note headers are alike in ELF32 and ELF64. */
#define PGO_NOTE_GNU_BUILD_ID	3

u32 pgo_find_build_id(const void *notes, size_t size, u8 *build_id)
{
	const char *note = notes, *end = note + size;

	while (note + sizeof(struct elf32_note) <= end) {
		const struct elf32_note *hdr = (const struct elf32_note *)note;
		const char *name = note + sizeof(*hdr);
		const char *desc = name + ALIGN(hdr->n_namesz, 4);

		if (desc + ALIGN(hdr->n_descsz, 4) > end)
			break;
		if (hdr->n_type == PGO_NOTE_GNU_BUILD_ID && hdr->n_namesz == sizeof("GNU") &&
		    !memcmp(name, "GNU", sizeof("GNU")) &&
		    hdr->n_descsz <= PGO_BUILD_ID_MAX) {
			memcpy(build_id, desc, hdr->n_descsz);
			return hdr->n_descsz;
		}
		note = desc + ALIGN(hdr->n_descsz, 4);
	}
	return 0;
}

static void pgo_read_value_stats(struct pgo_binary *binary,
				 struct pgo_value_stats *stats)
{
	stats->pool_nodes = binary->s.nodes_end - binary->s.nodes;
	stats->nodes_used = pgo_nodes_in_use(binary);
	stats->values_dropped = atomic_long_read(&binary->values_dropped);
	stats->append_races = atomic_long_read(&binary->append_races);
}

/* Called with pgo_lock held. */
static struct pgo_snapshot *pgo_take_snapshot(struct pgo_file *file)
{
	struct pgo_snapshot *snap;
	size_t bound;

	if (!file->binary) {
		if (!file->kept)
			return ERR_PTR(-ENOENT);
		snap = vmalloc(struct_size(snap, data, file->kept->size));
		if (snap)
			memcpy(snap, file->kept, struct_size(snap, data, file->kept->size));
		return snap ?: ERR_PTR(-ENOMEM);
	}
	bound = pgo_profile_size_bound(file->binary, file->build_id_size);
	snap = vmalloc(struct_size(snap, data, bound));
	if (!snap)
		return ERR_PTR(-ENOMEM);
	snap->size = pgo_write_profile(file->binary, file->build_id, file->build_id_size,
				       snap->data, bound);
	return snap;
}

static int pgo_profile_open(struct inode *inode, struct file *f)
{
	struct pgo_snapshot *snap;

	mutex_lock(&pgo_lock);
	snap = pgo_take_snapshot(inode->i_private);
	mutex_unlock(&pgo_lock);
	if (IS_ERR(snap))
		return PTR_ERR(snap);
	f->private_data = snap;
	return 0;
}

static ssize_t pgo_profile_read(struct file *f, char __user *buf, size_t count,
				loff_t *ppos)
{
	struct pgo_snapshot *snap = f->private_data;

	return simple_read_from_buffer(buf, count, ppos, snap->data, snap->size);
}

static int pgo_profile_release(struct inode *inode, struct file *f)
{
	vfree(f->private_data);
	return 0;
}

static const struct file_operations pgo_profile_fops = {
	.owner		= THIS_MODULE,
	.open		= pgo_profile_open,
	.read		= pgo_profile_read,
	.llseek		= default_llseek,
	.release	= pgo_profile_release,
};

/* Called with pgo_lock held. */
static void pgo_create_file(struct pgo_file *file)
{
	char name[MODULE_NAME_LEN + sizeof(".profraw")];

	snprintf(name, sizeof(name), "%s.profraw", file->name);
	file->dentry = debugfs_create_file(name, 0400, pgo_dir, file, &pgo_profile_fops);
	list_add_tail(&file->list, &pgo_files);
}

/* Removes files taken off the list; called without pgo_lock. */
static void pgo_remove_files(struct list_head *gone)
{
	struct pgo_file *file, *next;

	list_for_each_entry_safe(file, next, gone, list) {
		debugfs_remove(file->dentry);
		vfree(file->kept);
		kfree(file);
	}
}

static ssize_t pgo_reset_write(struct file *f, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	struct pgo_file *file, *next;
	LIST_HEAD(gone);

	mutex_lock(&pgo_lock);
	list_for_each_entry_safe(file, next, &pgo_files, list) {
		if (file->binary) {
			pgo_reset_counts(file->binary);
			atomic_long_set(&file->binary->values_dropped, 0);
			atomic_long_set(&file->binary->append_races, 0);
		} else {
			list_move(&file->list, &gone);
		}
	}
	mutex_unlock(&pgo_lock);
	pgo_remove_files(&gone);
	return count;
}

static const struct file_operations pgo_reset_fops = {
	.owner		= THIS_MODULE,
	.write		= pgo_reset_write,
	.llseek		= noop_llseek,
};

static int pgo_values_show(struct seq_file *m, void *unused)
{
	struct pgo_file *file;

	seq_puts(m, "binary pool_nodes nodes_used values_dropped append_races\n");
	mutex_lock(&pgo_lock);
	list_for_each_entry(file, &pgo_files, list) {
		struct pgo_value_stats stats = file->kept_values;

		if (file->binary)
			pgo_read_value_stats(file->binary, &stats);
		seq_printf(m, "%s %ld %lu %ld %ld\n", file->name,
			   stats.pool_nodes, stats.nodes_used,
			   stats.values_dropped, stats.append_races);
	}
	mutex_unlock(&pgo_lock);
	seq_printf(m, "(modules-without-slot) 0 0 %ld 0\n",
		   pgo_unslotted_values_dropped());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pgo_values);

#ifdef CONFIG_MODULES
/* Called with pgo_lock held. */
static struct pgo_file *pgo_find_file(const char *name)
{
	struct pgo_file *file;

	list_for_each_entry(file, &pgo_files, list)
		if (!strcmp(file->name, name))
			return file;
	return NULL;
}

/* The same build loads again: its kept counters go on in the new instance. */
static void pgo_resume_file(struct pgo_file *file, struct pgo_binary *binary,
			    const u8 *build_id, u32 build_id_size)
{
	struct pgo_snapshot *kept = file->kept;

	if (kept && (build_id_size != file->build_id_size ||
		     memcmp(build_id, file->build_id, build_id_size) ||
		     !pgo_restore_counters(binary, kept->data, kept->size))) {
		pr_info("%s: a different build loaded; the earlier profile is dropped\n",
			file->name);
	} else if (kept) {
		/* The profile goes on, and so does the count of what it missed. */
		atomic_long_add(file->kept_values.values_dropped, &binary->values_dropped);
		atomic_long_add(file->kept_values.append_races, &binary->append_races);
	}
	vfree(kept);
	file->kept = NULL;
	memset(&file->kept_values, 0, sizeof(file->kept_values));
	file->binary = binary;
	memcpy(file->build_id, build_id, build_id_size);
	file->build_id_size = build_id_size;
}

void pgo_module_coming(const char *name, const struct pgo_sections *s,
		       const u8 *build_id, u32 build_id_size)
{
	struct pgo_binary *binary;
	struct pgo_file *file;

	mutex_lock(&pgo_lock);
	binary = pgo_claim_module_binary(s);
	if (!binary) {
		pr_warn("%s: more than %d modules loaded, it is not profiled\n",
			name, PGO_MODULE_SLOTS);
		goto out;
	}
	file = pgo_find_file(name);
	if (!file) {
		file = kzalloc(sizeof(*file), GFP_KERNEL);
		if (!file) {
			pgo_release_module_binary(binary);
			pr_warn("%s: out of memory, not profiled\n", name);
			goto out;
		}
		strscpy(file->name, name, sizeof(file->name));
		pgo_create_file(file);
	}
	pgo_resume_file(file, binary, build_id, build_id_size);
out:
	mutex_unlock(&pgo_lock);
}

void pgo_module_going(const char *name)
{
	struct pgo_snapshot *kept;
	struct pgo_file *file;
	LIST_HEAD(gone);

	mutex_lock(&pgo_lock);
	file = pgo_find_file(name);
	if (!file || !file->binary)
		goto out;
	kept = pgo_take_snapshot(file);
	/* Its values file line stays with the kept profile, drops included. */
	pgo_read_value_stats(file->binary, &file->kept_values);
	pgo_release_module_binary(file->binary);
	file->binary = NULL;
	if (IS_ERR(kept)) {
		pr_warn("%s: out of memory, its profile is lost at unload\n", name);
		list_move(&file->list, &gone);
	} else {
		file->kept = kept;
	}
out:
	mutex_unlock(&pgo_lock);
	pgo_remove_files(&gone);
}
#endif

static int __init pgo_init(void)
{
	u64 version = __llvm_profile_raw_version & PGO_VERSION_MASK;

	if (version != PGO_RAW_VERSION) {
		pr_err("the compiler wrote raw profile version %llu, the runtime was built for %d\n",
		       version, PGO_RAW_VERSION);
		return -EINVAL;
	}
	pgo_vmlinux_file.build_id_size =
		pgo_find_build_id(__start_notes, __stop_notes - __start_notes,
				  pgo_vmlinux_file.build_id);
	if (!pgo_vmlinux_file.build_id_size)
		pr_warn("vmlinux has no build ID; profiles will not name their kernel\n");
	pgo_dir = debugfs_create_dir("pgo", NULL);
	mutex_lock(&pgo_lock);
	pgo_create_file(&pgo_vmlinux_file);
	mutex_unlock(&pgo_lock);
	debugfs_create_file("reset", 0200, pgo_dir, NULL, &pgo_reset_fops);
	debugfs_create_file("values", 0400, pgo_dir, NULL, &pgo_values_fops);
	pr_info("raw profile version %llu, %zu bytes of counters\n", version,
		(size_t)(pgo_vmlinux.s.counters_end - pgo_vmlinux.s.counters));
	return pgo_register_module_notifier();
}
fs_initcall(pgo_init);
