// Runs every file of tests/spec_corpus (see its README.md) and checks that the loader reports
// exactly the diagnostics the file's header expects: position, field and message fragment.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "pkg/spec/spec.h"
#include "pkg/spec/spec_test_util.h"

#ifndef AURA_SPEC_CORPUS_DIR
#error "AURA_SPEC_CORPUS_DIR must name tests/spec_corpus"
#endif

namespace aura::spec {
namespace {

namespace fs = std::filesystem;
using testing::Expect;

const std::string kCorpus = AURA_SPEC_CORPUS_DIR;

struct CorpusFile {
  std::string path;  // kCorpus + "/invalid/x.yaml"
  bool valid = false;
  std::vector<Expect> expect;
  bool complete = true;
  int specs = 0;
  std::optional<std::set<std::string>> invalid_keys;
  LoadOptions options;
  std::string header_error;  // a malformed header
};

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) {
    s.replace(at, from.size(), to);
  }
  return s;
}

CorpusFile ReadHeader(const std::string& path, bool valid) {
  CorpusFile f;
  f.path = path;
  f.valid = valid;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (first && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    first = false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] != '#') break;
    std::istringstream words(line.substr(1));
    std::string directive;
    words >> directive;
    if (directive == "expect:") {
      Expect e;
      char colon = 0;
      words >> e.line >> colon >> e.column >> e.field;
      if (colon != ':' || e.field.empty()) f.header_error = "bad expect line: " + line;
      if (e.field == "-") e.field.clear();
      std::getline(words >> std::ws, e.fragment);
      e.fragment = ReplaceAll(e.fragment, "CORPUS", kCorpus);
      f.expect.push_back(e);
    } else if (directive == "expect-complete:") {
      std::string v;
      words >> v;
      f.complete = v == "true";
    } else if (directive == "expect-specs:") {
      words >> f.specs;
    } else if (directive == "expect-invalid-keys:") {
      f.invalid_keys.emplace();
      for (std::string k; words >> k;) f.invalid_keys->insert(k);
    } else if (directive == "options:") {
      for (std::string kv; words >> kv;) {
        const std::size_t eq = kv.find('=');
        const std::string key = kv.substr(0, eq);
        const long value = eq == std::string::npos ? 0 : std::stol(kv.substr(eq + 1));
        if (key == "max_file_bytes") {
          f.options.max_file_bytes = static_cast<std::size_t>(value);
        } else if (key == "max_depth") {
          f.options.max_depth = static_cast<int>(value);
        } else if (key == "max_nodes") {
          f.options.max_nodes = static_cast<std::size_t>(value);
        } else {
          f.header_error = "unknown option: " + kv;
        }
      }
    }
  }
  return f;
}

std::vector<CorpusFile> Corpus() {
  std::vector<CorpusFile> files;
  for (const char* sub : {"invalid", "valid"}) {
    std::vector<std::string> paths;
    for (const auto& entry : fs::directory_iterator(kCorpus + "/" + sub)) {
      paths.push_back(entry.path().string());
    }
    std::sort(paths.begin(), paths.end());
    for (const std::string& p : paths) files.push_back(ReadHeader(p, sub[0] == 'v'));
  }
  return files;
}

void PrintTo(const CorpusFile& f, std::ostream* os) { *os << f.path; }

class CorpusTest : public ::testing::TestWithParam<CorpusFile> {};

TEST_P(CorpusTest, ReportsWhatTheHeaderExpects) {
  const CorpusFile& f = GetParam();
  ASSERT_EQ(f.header_error, "");
  if (!f.valid) {
    ASSERT_FALSE(f.expect.empty()) << "an invalid file must expect something";
  }
  const LoadResult r = Load({f.path}, f.options);
  testing::ExpectDiagnostics(r, f.expect);
  for (const Diagnostic& d : r.errors) EXPECT_EQ(d.location.file, f.path);
  EXPECT_EQ(r.complete, f.complete) << testing::Dump(r);
  EXPECT_EQ(static_cast<int>(r.specs.size()), f.specs);
  if (f.invalid_keys) {
    EXPECT_EQ(r.invalid_keys, *f.invalid_keys);
  }
  EXPECT_EQ(r.files, 1);
}

std::string FileName(const ::testing::TestParamInfo<CorpusFile>& info) {
  std::string name =
      (info.param.valid ? "valid_" : "invalid_") + fs::path(info.param.path).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(SpecCorpus, CorpusTest, ::testing::ValuesIn(Corpus()), FileName);

TEST(CorpusSizeTest, AtLeastFortyMalformedFiles) {
  int invalid = 0;
  for (const CorpusFile& f : Corpus()) invalid += f.valid ? 0 : 1;
  EXPECT_GE(invalid, 40);
}

TEST(CorpusSizeTest, WholeCorpusInOneLoad) {
  // Every file at once: cross-file rules see the valid examples together.
  const LoadResult r = Load({kCorpus + "/valid"});
  EXPECT_TRUE(r.ok()) << testing::Dump(r);
  EXPECT_EQ(r.specs.size(), 6u);
  EXPECT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.skipped, 1);
}

}  // namespace
}  // namespace aura::spec
