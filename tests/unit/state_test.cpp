// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <fstream>

#include "kpgo/pipeline/state.hpp"

namespace fs = std::filesystem;
using kpgo::pipeline::Manifest;

namespace {

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kpgo-state-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Loads a kpgo.json of the given text; returns the error message, or "" when it loads.
  std::string load(const std::string& text) {
    std::ofstream(dir_ / "kpgo.json") << text;
    auto manifest = Manifest::load(dir_);
    return manifest ? "" : manifest.error().what();
  }

  fs::path dir_;
};

const char* kFinishedInstrument = R"({"instrument": {
  "source": "/src", "arch": "x86_64", "build_dir": "/b", "vmlinux_build_id": "ab",
  "llvm": {"value": "-19", "major": 19, "raw_version": 10, "merge_backend": 19},
  "artifacts": {"vmlinux": "/b/vmlinux", "bzImage": "/b/bzImage"},
  "finished": "2026-11-25T00:00:00Z"},
  "collect": {"profiles": [{"path": "/p/1.profraw", "sha256": "00", "weight": 1}]}})";

}  // namespace

TEST_F(StateTest, AWholeManifestLoads) {
  EXPECT_EQ(load(kFinishedInstrument), "");
  EXPECT_EQ(load("{}"), "");
  EXPECT_EQ(load(R"({"instrument": {"started": "x"}})"), "") << "an unfinished phase needs nothing";
}

TEST_F(StateTest, AMissingFieldOfAFinishedPhaseIsNamed) {
  std::string text = kFinishedInstrument;
  std::string without_llvm = text;
  size_t start = without_llvm.find("\"llvm\"");
  size_t end = without_llvm.find("},", start) + 2;
  without_llvm.erase(start, end - start);
  std::string message = load(without_llvm);
  EXPECT_NE(message.find("kpgo.json: instrument.llvm is missing"), std::string::npos) << message;
  EXPECT_NE(message.find("remove the phase's section"), std::string::npos) << message;
}

TEST_F(StateTest, AFieldOfTheWrongTypeIsNamed) {
  std::string text = kFinishedInstrument;
  text.replace(text.find("\"major\": 19"), 11, "\"major\": \"19\"");
  EXPECT_NE(load(text).find("instrument.llvm.major is string, not a number"), std::string::npos);
  EXPECT_NE(load(R"({"instrument": []})").find("instrument is array, not an object"),
            std::string::npos);
  EXPECT_NE(load(R"({"collect": {"profiles": [{"path": 5, "sha256": "0"}]}})")
                .find("collect.profiles[0].path is number, not a string"),
            std::string::npos);
  EXPECT_NE(load(R"({"collect": {"profiles": [7]}})").find("collect.profiles[0] is number"),
            std::string::npos);
}

TEST_F(StateTest, NotJsonOrNotAnObjectIsRefused) {
  EXPECT_NE(load("{\"instrument\": ").find("not valid JSON"), std::string::npos);
  EXPECT_NE(load("[1, 2]").find("not a kpgo manifest"), std::string::npos);
}
