// SPDX-License-Identifier: GPL-2.0-only
#include "core/named_options.h"

#include <string>

namespace snapsim {

const NamedOption* FindNamedOption(std::string_view name) {
  for (const NamedOption& option : kNamedOptions) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

bool* NamedOptionField(const NamedOption& option, StoreOptions& store) {
  const auto* member = std::get_if<bool StoreOptions::*>(&option.member);
  return member == nullptr ? nullptr : &(store.**member);
}

bool* NamedOptionField(const NamedOption& option, TargetOptions& target) {
  const auto* member = std::get_if<bool TargetOptions::*>(&option.member);
  return member == nullptr ? nullptr : &(target.**member);
}

void SetNamedOption(const NamedOption& option, StoreOptions& store, TargetOptions& target) {
  if (bool* field = NamedOptionField(option, store)) *field = true;
  if (bool* field = NamedOptionField(option, target)) *field = true;
}

void ApplyCorrectedOptions(StoreOptions& store, TargetOptions& target) {
  for (const NamedOption& option : kNamedOptions) {
    if (option.corrected) SetNamedOption(option, store, target);
  }
}

std::string NamedOptionNames() {
  std::string out(kCorrectedOptionName);
  for (const bool corrected : {true, false}) {
    for (const NamedOption& option : kNamedOptions) {
      if (option.corrected != corrected) continue;
      out += ", ";
      out += option.name;
    }
  }
  return out;
}

}  // namespace snapsim
