// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim <command> [flags] [args]: finds the command in the registry (cli/command.h), checks
// that every flag belongs to it, lets Abseil parse the flags and runs the command.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/marshalling.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cli/command.h"
#include "cli/run_options.h"
#include "util/absl_view.h"
#include "util/assert.h"

namespace snapsim::cli {
namespace {

// Bounds the arguments main looks at; a longer command line is refused.
constexpr size_t kMaxArguments = 4096;

std::vector<Command>& Registry() {
  // Function-local so that registration order across files does not matter.
  static auto* registry = new std::vector<Command>();
  return *registry;
}

// Flag name -> every value given for it, filled by RecordGivenFlags.
std::vector<std::pair<std::string, std::vector<std::string>>>& GivenFlags() {
  static auto* given = new std::vector<std::pair<std::string, std::vector<std::string>>>();
  return *given;
}

std::string DisplayFlagName(std::string_view name) {
  return absl::StrReplaceAll(AbslView(name), {{"_", "-"}});
}

void PrintCommandList(FILE* out) {
  absl::FPrintF(out,
                "snapsim: simulation and fault injection for the dm-snapshot persistent store\n\n"
                "usage: snapsim <command> [flags] [args]\n\ncommands:\n");
  for (const Command& command : Commands()) {
    absl::FPrintF(out, "  %-12s %s\n", AbslView(command.name), AbslView(command.summary));
  }
  absl::FPrintF(
      out,
      "\n`snapsim <command> --help` shows a command's usage and flags.\n"
      "`snapsim --version` prints the version, git commit and whether assertions are on.\n");
}

bool Declares(const Command& command, std::string_view name) {
  return std::find(command.flags.begin(), command.flags.end(), name) != command.flags.end();
}

void PrintCommandHelp(const Command& command, FILE* out) {
  absl::FPrintF(out, "%s\n", AbslView(command.usage));
  if (command.flags.empty()) return;
  absl::FPrintF(out, "\nflags:\n");
  for (std::string_view name : command.flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(AbslView(name));
    if (flag == nullptr) {
      absl::FPrintF(out, "  --%s\n", DisplayFlagName(name));
      continue;
    }
    absl::FPrintF(out, "  --%s  %s (default: %s)\n", DisplayFlagName(name), flag->Help(),
                  flag->DefaultValue().empty() ? "\"\"" : flag->DefaultValue());
  }
  if (Declares(command, "option")) PrintNamedOptions(out);
}

// Checks each flag in args[2..] against the command and rewrites its name with '_' for Abseil.
// Returns false after printing a one-line error.
bool NormaliseFlags(const Command& command, std::vector<std::string>& args) {
  for (size_t i = 2; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;  // the rest is positional
    if (arg.size() < 2 || arg[0] != '-') continue;
    const size_t dashes = arg.compare(0, 2, "--") == 0 ? 2 : 1;
    const size_t equals = arg.find('=');
    const std::string given =
        arg.substr(dashes, equals == std::string::npos ? std::string::npos : equals - dashes);
    std::string name = absl::StrReplaceAll(given, {{"-", "_"}});
    bool negated = false;
    if (!Declares(command, name) && name.compare(0, 2, "no") == 0 &&
        Declares(command, name.substr(2))) {
      negated = true;
      name = name.substr(2);
    }
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (!Declares(command, name) || flag == nullptr) {
      absl::FPrintF(stderr, "snapsim %s: unknown flag --%s (see snapsim %s --help)\n",
                    AbslView(command.name), given, AbslView(command.name));
      return false;
    }
    const bool is_bool = flag->IsOfType<bool>();
    if (negated && !is_bool) {
      absl::FPrintF(stderr, "snapsim %s: unknown flag --%s\n", AbslView(command.name), given);
      return false;
    }
    arg = absl::StrCat("--", negated ? "no" : "", name,
                       equals == std::string::npos ? "" : arg.substr(equals));
    // A non-boolean flag without '=' takes the next argument as its value.
    if (!is_bool && equals == std::string::npos) {
      if (i + 1 >= args.size()) {
        absl::FPrintF(stderr, "snapsim %s: flag --%s needs a value\n", AbslView(command.name),
                      given);
        return false;
      }
      ++i;
    }
  }
  return true;
}

// What a value of the flag's type looks like, for errors; "" for types any text parses as.
std::string ExpectedValue(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "true or false";
  if (flag.IsOfType<uint32_t>()) return absl::StrCat("an integer from 0 to ", UINT32_MAX);
  if (flag.IsOfType<uint64_t>()) return absl::StrCat("an integer from 0 to ", UINT64_MAX);
  return "";
}

// True when `value` parses as the flag's type.
bool ParsesAs(const absl::CommandLineFlag& flag, const std::string& value) {
  std::string error;
  if (flag.IsOfType<bool>()) {
    bool b = false;
    return absl::ParseFlag(value, &b, &error);
  }
  if (flag.IsOfType<uint32_t>()) {
    uint32_t n = 0;
    return absl::ParseFlag(value, &n, &error);
  }
  if (flag.IsOfType<uint64_t>()) {
    uint64_t n = 0;
    return absl::ParseFlag(value, &n, &error);
  }
  return true;  // strings and string lists: the command checks them
}

// Checks that every flag value parses as its flag's type, so that Abseil never fails (it would
// exit 1 with its own message). Returns false after printing a one-line error. REQUIRES:
// NormaliseFlags ran.
bool ValidateFlagValues(const Command& command, const std::vector<std::string>& args) {
  for (size_t i = 2; i < args.size() && args[i] != "--"; ++i) {
    const std::string& arg = args[i];
    if (arg.compare(0, 2, "--") != 0) continue;
    const size_t equals = arg.find('=');
    std::string name = arg.substr(2, equals == std::string::npos ? equals : equals - 2);
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && name.compare(0, 2, "no") == 0) {
      // A negated boolean (NormaliseFlags checked it): it takes no value.
      if (equals == std::string::npos) continue;
      absl::FPrintF(stderr, "snapsim %s: --%s takes no value\n", AbslView(command.name),
                    DisplayFlagName(name));
      return false;
    }
    if (flag == nullptr) continue;
    const bool is_bool = flag->IsOfType<bool>();
    if (is_bool && equals == std::string::npos) continue;
    const std::string& value = equals == std::string::npos ? args[++i] : arg.substr(equals + 1);
    if (ParsesAs(*flag, value)) continue;
    absl::FPrintF(stderr, "snapsim %s: bad value '%s' for --%s: expected %s\n",
                  AbslView(command.name), value, DisplayFlagName(name), ExpectedValue(*flag));
    return false;
  }
  return true;
}

// Records the value of each non-boolean flag occurrence for GivenFlagValues. REQUIRES:
// NormaliseFlags ran, so every flag is "--name=value" or "--name" "value".
void RecordGivenFlags(const std::vector<std::string>& args) {
  for (size_t i = 2; i < args.size() && args[i] != "--"; ++i) {
    const std::string& arg = args[i];
    if (arg.compare(0, 2, "--") != 0) continue;
    const size_t equals = arg.find('=');
    const std::string name = arg.substr(2, equals == std::string::npos ? equals : equals - 2);
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || flag->IsOfType<bool>()) continue;
    std::string value;
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    }
    auto& given = GivenFlags();
    auto it =
        std::find_if(given.begin(), given.end(), [&](const auto& g) { return g.first == name; });
    if (it == given.end()) it = given.insert(given.end(), {name, {}});
    it->second.push_back(std::move(value));
  }
}

// Abseil keeps only the last value of a repeated flag: which one the user meant is not ours to
// guess, so a scalar flag given twice is refused (list flags are merged below). Returns false
// after printing a one-line error. REQUIRES: RecordGivenFlags ran.
bool RefuseRepeatedScalarFlags(const Command& command) {
  // Scalar flags a command reads as a list through GivenFlagValues (command name, flag name).
  constexpr std::pair<std::string_view, std::string_view> kTakenRepeatedly[] = {
      {"campaign", "scenario"}};
  for (const auto& [name, values] : GivenFlags()) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || flag->IsOfType<std::vector<std::string>>() || values.size() < 2) {
      continue;
    }
    const bool repeatable = std::find(std::begin(kTakenRepeatedly), std::end(kTakenRepeatedly),
                                      std::pair<std::string_view, std::string_view>(
                                          command.name, name)) != std::end(kTakenRepeatedly);
    if (repeatable) continue;
    absl::FPrintF(stderr, "snapsim %s: --%s given %d times ('%s', then '%s'): give it once\n",
                  AbslView(command.name), DisplayFlagName(name), values.size(), values[0],
                  values[1]);
    return false;
  }
  return true;
}

// Abseil keeps only the last value of a repeated flag. For list flags (--option, --scenario) every
// occurrence counts: they are merged into one comma-joined flag. REQUIRES: NormaliseFlags ran.
void MergeRepeatedListFlags(std::vector<std::string>& args) {
  std::vector<std::string> out(args.begin(), args.begin() + 2);
  std::vector<std::pair<std::string, std::string>> lists;  // flag name -> joined values, in order
  size_t i = 2;
  for (; i < args.size() && args[i] != "--"; ++i) {
    const std::string& arg = args[i];
    const size_t equals = arg.find('=');
    const absl::CommandLineFlag* flag = arg.compare(0, 2, "--") == 0
                                            ? absl::FindCommandLineFlag(arg.substr(2, equals - 2))
                                            : nullptr;
    if (flag == nullptr || !flag->IsOfType<std::vector<std::string>>()) {
      out.push_back(arg);
      continue;
    }
    const std::string name = arg.substr(2, equals - 2);
    std::string value;
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    }
    auto it =
        std::find_if(lists.begin(), lists.end(), [&](const auto& l) { return l.first == name; });
    if (it == lists.end()) {
      lists.emplace_back(name, value);
    } else if (!value.empty()) {
      it->second = it->second.empty() ? value : absl::StrCat(it->second, ",", value);
    }
  }
  for (const auto& [name, value] : lists) out.push_back(absl::StrCat("--", name, "=", value));
  for (; i < args.size(); ++i) out.push_back(args[i]);
  args = std::move(out);
}

bool AsksForHelp(const std::vector<std::string>& args) {
  for (size_t i = 2; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "--help" || args[i] == "-h" || args[i] == "-help") return true;
  }
  return false;
}

int Main(int argc, char** argv) {
  if (static_cast<size_t>(argc) > kMaxArguments) {
    absl::FPrintF(stderr, "snapsim: too many arguments (at most %d)\n", kMaxArguments);
    return kExitUsage;
  }
  std::vector<std::string> args(argv, argv + argc);
  if (args.size() < 2) {
    PrintCommandList(stderr);
    return kExitUsage;
  }
  const std::string& first = args[1];
  if (first == "--version" || first == "version") {
    absl::PrintF("snapsim %s (git %s)\nassertions: %s\n", SNAPSIM_VERSION, SNAPSIM_GIT_COMMIT,
                 AssertionsEnabled() ? "on" : "off");
    return kExitOk;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    if (args.size() > 2) {
      const Command* command = FindCommand(args[2]);
      if (command == nullptr) {
        absl::FPrintF(stderr, "snapsim: unknown command '%s' (see snapsim --help)\n", args[2]);
        return kExitUsage;
      }
      PrintCommandHelp(*command, stdout);
      return kExitOk;
    }
    PrintCommandList(stdout);
    return kExitOk;
  }
  const Command* command = FindCommand(first);
  if (command == nullptr) {
    absl::FPrintF(stderr, "snapsim: unknown command '%s' (see snapsim --help)\n", first);
    return kExitUsage;
  }
  if (AsksForHelp(args)) {
    PrintCommandHelp(*command, stdout);
    return kExitOk;
  }
  if (!NormaliseFlags(*command, args)) return kExitUsage;
  if (!ValidateFlagValues(*command, args)) return kExitUsage;
  RecordGivenFlags(args);
  if (!RefuseRepeatedScalarFlags(*command)) return kExitUsage;
  MergeRepeatedListFlags(args);

  // Abseil sees "snapsim <args after the command>" and returns argv[0] plus the positionals.
  std::vector<char*> flag_argv;
  flag_argv.push_back(args[0].data());
  for (size_t i = 2; i < args.size(); ++i) flag_argv.push_back(args[i].data());
  const std::vector<char*> rest =
      absl::ParseCommandLine(static_cast<int>(flag_argv.size()), flag_argv.data());
  const std::vector<std::string> positional(rest.begin() + 1, rest.end());
  try {
    return command->run(positional);
  } catch (const std::filesystem::filesystem_error& e) {
    // A file the command could not create, read or replace; nothing the user had is changed by
    // the commands' own writes (util/atomic_file), so this is bad input, not a crash.
    absl::string_view what = e.what();
    absl::ConsumePrefix(&what, "filesystem error: ");
    absl::FPrintF(stderr, "snapsim %s: %s\n", AbslView(command->name), what);
    return kExitUsage;
  }
}

// Flushes standard output and reports a failed write to it (a full disk, a closed pipe's EIO):
// output the user asked for and did not get is an error. Returns the exit code.
int FinishStandardOutput(int argc, char** argv, int code) {
  errno = 0;
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  const int error = errno;
  if (flushed && !std::ferror(stdout) && std::cout.good()) return code;
  const Command* command = argc > 1 ? FindCommand(argv[1]) : nullptr;
  absl::FPrintF(stderr, "snapsim%s%s: cannot write to standard output: %s\n",
                command == nullptr ? "" : " ", command == nullptr ? "" : AbslView(command->name),
                std::strerror(error != 0 ? error : EIO));
  return kExitUsage;
}

}  // namespace

const std::vector<Command>& Commands() { return Registry(); }

std::optional<std::vector<std::string>> GivenFlagValues(std::string_view name) {
  for (const auto& [flag, values] : GivenFlags()) {
    if (flag == name) return values;
  }
  return std::nullopt;
}

const Command* FindCommand(std::string_view name) {
  for (const Command& command : Registry()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

CommandRegistrar::CommandRegistrar(Command command) {
  std::vector<Command>& registry = Registry();
  const auto at =
      std::lower_bound(registry.begin(), registry.end(), command.name,
                       [](const Command& c, std::string_view name) { return c.name < name; });
  registry.insert(at, std::move(command));
}

}  // namespace snapsim::cli

int main(int argc, char** argv) {
  return snapsim::cli::FinishStandardOutput(argc, argv, snapsim::cli::Main(argc, argv));
}
