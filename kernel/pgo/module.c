// SPDX-License-Identifier: GPL-2.0-only
/*
 * Modules: the module loader finds each module's profile sections and build
 * ID note (find_module_sections); a module notifier hands them to fs.c when
 * the module comes, before its code first runs, and takes its profile when
 * it goes, after its code last ran.
 */
#include <linux/module.h>
#include <linux/notifier.h>

#include "pgo.h"

static void pgo_module_sections(const struct module *mod, struct pgo_sections *s)
{
	s->data = mod->prf_data;
	s->data_end = s->data + mod->prf_data_size / sizeof(*s->data);
	s->counters = mod->prf_cnts;
	s->counters_end = s->counters + mod->prf_cnts_size;
	s->bitmap = mod->prf_bits;
	s->bitmap_end = s->bitmap + mod->prf_bits_size;
	s->names = mod->prf_names;
	s->names_end = s->names + mod->prf_names_size;
	s->nodes = mod->prf_vnds;
	s->nodes_end = s->nodes + mod->prf_vnds_size / sizeof(*s->nodes);
}

static int pgo_module_notify(struct notifier_block *nb, unsigned long state, void *data)
{
	struct module *mod = data;
	struct pgo_sections s;
	u8 build_id[PGO_BUILD_ID_MAX];
	u32 build_id_size;

	/* Not instrumented (PGO_PROFILE := n, or built without kbuild's flags). */
	if (!mod->prf_data_size || !mod->prf_cnts_size)
		return NOTIFY_DONE;
	switch (state) {
	case MODULE_STATE_COMING:
		pgo_module_sections(mod, &s);
		build_id_size = pgo_find_build_id(mod->pgo_build_id_note,
						  mod->pgo_build_id_note_size, build_id);
		pgo_module_coming(mod->name, &s, build_id, build_id_size);
		break;
	case MODULE_STATE_GOING:
		pgo_module_going(mod->name);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block pgo_module_nb = {
	.notifier_call = pgo_module_notify,
};

int pgo_register_module_notifier(void)
{
	return register_module_notifier(&pgo_module_nb);
}
