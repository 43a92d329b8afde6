// Fake proc + cgroupfs trees for memory::Monitor tests.
//
// The committed trees beside this header (v1/, v2/, v1_container/, none/) hold the shapes we
// meet: a v1 hybrid host like our build machine, a pure v2 host, a docker v1 container whose
// mount root is its own group, and a machine with no cgroup or PSI at all. FakeTree copies one
// into a fresh temp dir so a test can break a single file without touching the repo.
// Thread-compatible; removes its copy on destruction.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#ifndef LEANCUT_SOURCE_DIR_DEFAULT
#define LEANCUT_SOURCE_DIR_DEFAULT "."
#endif

namespace leancut::fakes {

// The committed tree `name` (e.g. "v1") in the source checkout.
inline std::filesystem::path cgroupfs_tree(std::string_view name) {
  const char* env = std::getenv("LEANCUT_SOURCE_DIR");
  std::filesystem::path src =
      env != nullptr && *env != '\0' ? env : std::filesystem::path(LEANCUT_SOURCE_DIR_DEFAULT);
  return src / "tests/fakes/cgroupfs" / std::string(name);
}

class FakeTree {
 public:
  // A writable copy of the committed tree `name`; an empty tree for "".
  explicit FakeTree(std::string_view name) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "leancut-cgroupfs-XXXXXX").string();
    const char* dir = ::mkdtemp(tmpl.data());
    EXPECT_NE(dir, nullptr);
    root_ = tmpl;
    if (!name.empty()) {
      std::filesystem::copy(cgroupfs_tree(name), root_, std::filesystem::copy_options::recursive);
    }
  }
  ~FakeTree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  FakeTree(const FakeTree&) = delete;
  FakeTree& operator=(const FakeTree&) = delete;

  const std::filesystem::path& root() const { return root_; }

  // Writes `text` to root/relative_path, creating directories.
  void write(std::string_view relative_path, std::string_view text) const {
    std::filesystem::path p = root_ / std::string(relative_path);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  }
  void remove(std::string_view relative_path) const {
    std::filesystem::remove_all(root_ / std::string(relative_path));
  }

 private:
  std::filesystem::path root_;
};

}  // namespace leancut::fakes
