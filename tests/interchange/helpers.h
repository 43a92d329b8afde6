// Test helpers for tests/interchange: the sample files and a temporary folder of fake media.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "interchange/model.h"

namespace leancut::interchange::testing {

namespace fs = std::filesystem;

inline fs::path source_dir() {
  const char* env = std::getenv("LEANCUT_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path(LEANCUT_SOURCE_DIR_DEFAULT);
}

inline fs::path sample(const std::string& name) {
  return source_dir() / "tests" / "interchange" / "samples" / name;
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh folder under the system temp dir, removed with everything in it when destroyed.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "leancut-interchange-XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    const char* made = mkdtemp(buf.data());
    EXPECT_NE(made, nullptr);
    path_ = made ? fs::path(made) : fs::path();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  // An empty file at `relative` (folders made as needed); returns its absolute path.
  fs::path touch(const std::string& relative) const {
    fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "";
    return p;
  }

 private:
  fs::path path_;
};

inline std::vector<std::string> messages(const std::vector<Problem>& problems) {
  std::vector<std::string> out;
  for (const Problem& p : problems) out.push_back(p.to_string());
  return out;
}

}  // namespace leancut::interchange::testing
