// The text of an instance's observation as the journal keeps it (issue 21: a restart starts
// from it). The controller's own format: the fields of api::Instance by their API names, those
// not observed left out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pkg/aura/model.h"

namespace aura::reconcile {

std::string EncodeObservedInstance(const api::Instance& instance);
// nullopt when `text` is not such an object (the journal's cache is then ignored).
std::optional<api::Instance> DecodeObservedInstance(std::string_view text);

}  // namespace aura::reconcile
