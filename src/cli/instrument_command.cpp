// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/kernel/support.hpp"
#include "kpgo/pipeline/instrument.hpp"
#include "kpgo/system/data_dir.hpp"

namespace kpgo::cli {

namespace {

struct InstrumentArgs : KernelBuildArgs {
  bool dry_run = false;
  bool remove_support = false;
  bool support_only = false;
  bool force = false;
};

Result<int> run_remove_support(const InstrumentArgs& args, const GlobalOptions& globals) {
  KPGO_TRY_BIND(data, data_dir());
  KPGO_TRY_BIND(tree, kernel::resolve_source(args.source, args.workdir, false, system_runner()));
  if (auto removed = kernel::remove_support(*tree, kernel::support_files(*data), system_runner());
      !removed) {
    return tl::unexpected(removed.error());
  }
  if (globals.json) {
    fmt::print("{}\n", nlohmann::json{{"source", tree->string()}, {"support", "removed"}}.dump(2));
  } else if (!globals.quiet) {
    fmt::print("kpgo's kernel support removed from {}\n", tree->string());
  }
  return 0;
}

Result<int> run_support_only(const InstrumentArgs& args, const GlobalOptions& globals) {
  KPGO_TRY_BIND(data, data_dir());
  auto files = kernel::support_files(*data);
  std::vector<Command> unpacking;
  KPGO_TRY_BIND(found,
                kernel::resolve_source_for_support(args.source, args.workdir, files, args.dry_run,
                                                   system_runner(), &unpacking));
  if (args.dry_run) {
    for (const auto& command : unpacking) fmt::print("{}\n", render_command(command));
  }
  if (found->unpack_pending) return 0;
  const std::filesystem::path& tree = found->path;
  KPGO_TRY_BIND(plan, kernel::plan_support(tree, files, system_runner()));
  if (args.dry_run) {
    for (const auto& command : plan->commands) fmt::print("{}\n", render_command(command));
    return 0;
  }
  KPGO_TRY(kernel::apply_support(tree, files, *plan, system_runner()));
  const char* state = plan->before == kernel::PgoSupport::native ? "native"
                      : plan->changes_tree                       ? "added"
                                                                 : "present";
  if (globals.json) {
    fmt::print(
        "{}\n",
        nlohmann::json{{"source", tree.string()}, {"line", plan->line}, {"support", state}}.dump(
            2));
  } else if (!globals.quiet) {
    fmt::print("{}: clang PGO support {} (kernel line {})\n", tree.string(),
               plan->changes_tree                           ? "added"
               : plan->before == kernel::PgoSupport::native ? "of its own, used as it is"
                                                            : "already there",
               plan->line);
  }
  return 0;
}

Result<int> run_instrument(const InstrumentArgs& args, const GlobalOptions& globals) {
  if (args.remove_support) return run_remove_support(args, globals);
  if (args.support_only) return run_support_only(args, globals);
  auto options = instrument_options(args);
  options.dry_run = args.dry_run;
  options.force = args.force;

  KPGO_TRY_BIND(manifest, pipeline::Manifest::load(args.workdir));
  KPGO_TRY_BIND(outcome, pipeline::instrument_kernel(options, system_runner(), *manifest));

  if (args.dry_run && !globals.json) {
    // Exactly what would run; the .config merge in between is kpgo's own step.
    for (const auto& command : outcome->commands) fmt::print("{}\n", render_command(command));
    return 0;
  }
  if (globals.json) {
    print_json(instrument_json(*outcome));
  } else if (!globals.quiet) {
    fmt::print(
        "instrumented kernel {} ({} support{})\n  vmlinux   {}\n  bzImage   {}\n"
        "  build ID  {}\n",
        outcome->up_to_date ? "up to date: built from the same inputs (--force builds again)"
                            : "built",
        outcome->support, outcome->support_added ? ", added to the tree" : "",
        outcome->vmlinux.string(), outcome->bzimage.string(), outcome->build_id);
  }
  return 0;
}

}  // namespace

Subcommand add_instrument_command(CLI::App& parent, const GlobalOptions& globals) {
  auto args = std::make_shared<InstrumentArgs>();
  CLI::App* app = parent.add_subcommand(
      "instrument", "Build a kernel instrumented for clang PGO (-fprofile-generate)");
  app->add_option("--source", args->source, "Kernel tree, or a tarball of one")->required();
  add_kernel_build_options(*app, *args);
  app->add_flag("--dry-run", args->dry_run, "Print the commands instead of running them");
  app->add_flag("--force", args->force,
                "Run make even when the workdir's kernel was built from the same inputs (source "
                "by content, config, options, kpgo's kernel files)");
  app->add_flag("--support-only", args->support_only,
                "Put kpgo's kernel support into the tree (or find the tree's own), and stop");
  app->add_flag("--remove-support", args->remove_support,
                "Take kpgo's kernel support out of the tree again, and stop")
      ->excludes("--support-only");
  app->positionals_at_end(false);
  return {app, [args, &globals] { return run_instrument(*args, globals); }};
}

}  // namespace kpgo::cli
