// Synthetic inputs for the benchmarks: N AuraInstance specs (YAML and loaded), a journal that
// records an instance for each, and what the controller would have observed of the account.
//
// Spec i is `bench/db-NNNNN` in one tenant, professional-db 4GB on gcp europe-west1, the shape
// bench/run's end-to-end scenarios use too. Deterministic; no randomness.
//
// Thread-safety: plain functions and values.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/reconcile/observed.h"
#include "pkg/spec/spec.h"
#include "pkg/store/journal.h"

namespace aura::bench {

inline constexpr const char* kTenant = "5f1c4d2e-8a3b-4c6d-9e0f-1a2b3c4d5e6f";

std::string SpecName(int i);  // "db-00042"
std::string SpecKey(int i);   // "bench/db-00042"
std::string InstanceId(int i);

// One YAML document (with its leading "---") for spec i.
std::string SpecYaml(int i, const std::string& memory = "4GB");

// Writes `files` files of `docs_per_file` documents each under `dir` (created), spec numbers
// 0 .. files * docs_per_file - 1. Aborts the process on an I/O error.
void WriteSpecTree(const std::string& dir, int files, int docs_per_file);

// Loads N specs (from one in-memory document stream, limits raised to fit). Aborts on error.
std::vector<spec::InstanceSpec> LoadSpecs(int n);

// A journal entry recording instance i as created, credentials saved.
store::JournalEntry CreatedEntry(int i, base::SystemTime when);
std::map<std::string, store::JournalEntry> Journal(int n, base::SystemTime when);

// The account as observed: one tenant listing of instances 0..n-1 and, when `details`, a
// running detail observation of each (memory 4GB, storage 8GB).
reconcile::Observed ObservedAccount(int n, bool details, base::SystemTime when);

// A fresh, empty directory under $TMPDIR (default /tmp) for files the benchmark writes.
std::string MakeTempDir(const std::string& tag);
// A "VmXXX:" line of /proc/self/status ("VmHWM:", "VmRSS:"), KiB; -1 when absent.
long StatusKib(const char* field);
void RemoveTree(const std::string& dir);

}  // namespace aura::bench
